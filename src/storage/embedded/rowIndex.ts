/**
 * What the embedded row store keeps in memory: for every row, its counter and its siblings' dots
 * with where each sibling's record sits in the log. Values stay on disk, so 100,000 rows of a few
 * KB each cost a few MB of memory, not hundreds.
 *
 * A row with one value (nearly every row) is kept as that value's ref alone, with the row's counter
 * and the value's dot on it: one object per row instead of five. get() hands out the usual
 * IndexedRow shape around it. Refs are shared, never copied, between the index and rows staged for
 * writing, so compaction moving a ref's `pos` moves it everywhere. A row keyed by an id (32
 * lowercase hex digits) is found through the id's bytes (idTable.ts), not a string of its own.
 */
import { compareKeys, lowerBound, type SortedKeys, type StoredRow } from "../rowSemantics.ts";
import { decodeId, IdTable } from "./idTable.ts";
import type { RecordShape } from "./rowLogFormat.ts";

/** A sibling's record in the log. `pos` is the record's first byte; -1 until it is written. */
export interface ValueRef extends RecordShape {
  pos: number;
  /** The row's counter and this value's dot, while this ref is its row's only value in the index. */
  counter: number;
  dot: number;
}

/** A new ref, every field set at once so that all refs share one compact object shape. */
export function newRef(pos: number, shape: RecordShape): ValueRef {
  return {
    pos,
    recordLength: shape.recordLength,
    valueOffset: shape.valueOffset,
    valueLength: shape.valueLength,
    tombstone: shape.tombstone,
    counter: 0,
    dot: 0,
  };
}

/**
 * Tombstones are refs too (with `tombstone` set). A row that is a tombstone alone is forgotten at
 * compaction (logRowStore.ts); one beside a live sibling is kept with its row.
 */
export type IndexedRow = StoredRow<ValueRef>;

/** A row as the index holds it: its only value's ref, or the whole row when it has siblings. */
type Held = ValueRef | IndexedRow;

function isWholeRow(held: Held): held is IndexedRow {
  return (held as IndexedRow).values !== undefined;
}

export function isLiveRow(row: IndexedRow): boolean {
  return row.values.some((v) => v.value !== null && !v.value.tombstone);
}

/** A unique string for a row, for maps and event names. */
export function rowKey(pk: string, sk: string): string {
  return `${pk.length}:${pk}${sk}`;
}

/** A partition's sort key as `sorted` holds it: a named key itself, an id as its table slot. */
type SortedEntry = string | number;

class Partition {
  /**
   * Rows keyed by an id (32 lowercase hex digits: a message's meta row, nearly every row of a large
   * partition), the ids held as bytes (idTable.ts); rows keyed by anything else by name.
   */
  private readonly byId = new IdTable<Held>();
  private readonly named = new Map<string, Held>();
  /** Sort keys in byte order; undefined until first needed (replay at open does not sort). */
  private sorted: SortedEntry[] | undefined;
  private readonly id = new Uint8Array(16);

  get size(): number {
    return this.byId.size + this.named.size;
  }

  get(sk: string): Held | undefined {
    return decodeId(sk, this.id) ? this.byId.get(this.id) : this.named.get(sk);
  }

  add(sk: string, row: Held): void {
    if (decodeId(sk, this.id)) {
      const { slot, added, grew } = this.byId.set(this.id, row);
      if (grew)
        this.sorted = undefined; // every id has a new slot
      else if (added && this.sorted) this.sorted.splice(this.position(sk), 0, slot);
      return;
    }
    if (!this.named.has(sk) && this.sorted) this.sorted.splice(this.position(sk), 0, sk);
    this.named.set(sk, row);
  }

  /** Forgets a row; the sorted keys are rebuilt when next needed (one sort, not one splice each). */
  remove(sk: string): void {
    // An id's removal may move others to other slots (idTable.ts), which `sorted` names.
    const removed = decodeId(sk, this.id) ? this.byId.delete(this.id) : this.named.delete(sk);
    if (removed) this.sorted = undefined;
  }

  sortedKeys(): SortedKeys {
    const sorted = (this.sorted ??= this.sort());
    return { length: sorted.length, at: (i) => (i < sorted.length ? this.keyOf(sorted.at(i)!) : undefined) };
  }

  /** Every row with its sort key, the key spelled only for rows `wanted` picks. */
  *rows(wanted: (row: Held) => boolean = () => true): Generator<[string, Held]> {
    for (const [sk, row] of this.named) if (wanted(row)) yield [sk, row];
    for (const slot of this.byId.slots()) {
      const row = this.byId.valueAt(slot)!;
      if (wanted(row)) yield [this.byId.keyAt(slot), row];
    }
  }

  /** Every row, without its key. */
  *held(): Generator<Held> {
    yield* this.named.values();
    for (const slot of this.byId.slots()) yield this.byId.valueAt(slot)!;
  }

  private keyOf(entry: SortedEntry): string {
    return typeof entry === "number" ? this.byId.keyAt(entry) : entry;
  }

  private position(sk: string): number {
    return lowerBound(this.sortedKeys(), sk);
  }

  private sort(): SortedEntry[] {
    const keyed: { key: string; entry: SortedEntry }[] = [];
    for (const sk of this.named.keys()) keyed.push({ key: sk, entry: sk });
    for (const slot of this.byId.slots()) keyed.push({ key: this.byId.keyAt(slot), entry: slot });
    return keyed.sort((a, b) => compareKeys(a.key, b.key)).map((k) => k.entry);
  }
}

export class RowIndex {
  private readonly partitions = new Map<string, Partition>();
  /** Bytes of the log held by records that some row still refers to. */
  liveBytes = 0;

  get(pk: string, sk: string): IndexedRow | undefined {
    const held = this.partitions.get(pk)?.get(sk);
    if (held === undefined || isWholeRow(held)) return held;
    return { counter: held.counter, values: [{ dot: held.dot, value: held }] };
  }

  /** Whether the row exists and has a value that is not a tombstone, without building it. */
  isLive(pk: string, sk: string): boolean {
    const held = this.partitions.get(pk)?.get(sk);
    if (held === undefined) return false;
    return isWholeRow(held) ? isLiveRow(held) : !held.tombstone;
  }

  set(pk: string, sk: string, row: IndexedRow): void {
    let part = this.partitions.get(pk);
    if (!part) this.partitions.set(pk, (part = new Partition()));
    const old = part.get(sk);
    if (old) this.liveBytes -= heldBytes(old);
    const only = row.values.length === 1 ? row.values[0]! : undefined;
    let held: Held = row;
    if (only?.value) {
      only.value.counter = row.counter;
      only.value.dot = only.dot;
      held = only.value;
    }
    this.liveBytes += heldBytes(held);
    part.add(sk, held);
  }

  /** Sort keys of a partition in byte order (tombstoned rows included). */
  sortedKeys(pk: string): SortedKeys {
    return this.partitions.get(pk)?.sortedKeys() ?? [];
  }

  /** Replays one record found in the log at `ref.pos` (see rowLogFormat.ts). */
  replay(pk: string, sk: string, counter: number, seen: number, dot: number, ref: ValueRef): void {
    const old = this.get(pk, sk);
    const added = { dot, value: ref };
    // Arrays made at their final length: a pushed-to array keeps room for 16 more (100 B per row).
    const values = old ? [...old.values.filter((v) => v.dot > seen), added] : [added];
    this.set(pk, sk, { counter: Math.max(old?.counter ?? 0, counter), values });
  }

  /** Rows that are one tombstone and nothing else: what compaction may forget. */
  *loneTombstones(): Generator<{ pk: string; sk: string; ref: ValueRef }> {
    for (const [pk, part] of this.partitions) {
      for (const [sk, held] of part.rows((row) => !isWholeRow(row) && row.tombstone))
        yield { pk, sk, ref: held as ValueRef };
    }
  }

  /** Forgets the row if the index still holds it as `ref` alone; says whether it did. */
  forget(pk: string, sk: string, ref: ValueRef): boolean {
    const part = this.partitions.get(pk);
    if (part?.get(sk) !== ref) return false;
    part.remove(sk);
    if (part.size === 0) this.partitions.delete(pk);
    this.liveBytes -= ref.recordLength;
    return true;
  }

  /** Every record some row refers to. */
  *refs(): Generator<ValueRef> {
    for (const part of this.partitions.values()) {
      for (const held of part.held()) {
        if (!isWholeRow(held)) yield held;
        else for (const v of held.values) if (v.value) yield v.value;
      }
    }
  }
}

function heldBytes(held: Held): number {
  if (!isWholeRow(held)) return held.recordLength;
  let sum = 0;
  for (const v of held.values) sum += v.value?.recordLength ?? 0;
  return sum;
}
