/**
 * What the embedded row store keeps in memory: for every row, its counter and its siblings' dots
 * with where each sibling's record sits in the log. Values stay on disk, so 100,000 rows of a few
 * KB each cost a few MB of memory, not hundreds.
 */
import { compareKeys, lowerBound, type StoredRow } from "../rowSemantics.ts";
import type { RecordShape } from "./rowLogFormat.ts";

/** A sibling's record in the log. `pos` is the record's first byte; -1 until it is written. */
export interface ValueRef extends RecordShape {
  pos: number;
}

/** Tombstones are refs too (with `tombstone` set): their records must survive compaction. */
export type IndexedRow = StoredRow<ValueRef>;

export function isLiveRow(row: IndexedRow): boolean {
  return row.values.some((v) => v.value !== null && !v.value.tombstone);
}

/** A unique string for a row, for maps and event names. */
export function rowKey(pk: string, sk: string): string {
  return `${pk.length}:${pk}${sk}`;
}

class Partition {
  readonly rows = new Map<string, IndexedRow>();
  /** Sort keys in byte order; undefined until first needed (replay at open does not sort). */
  private sorted: string[] | undefined;

  add(sk: string, row: IndexedRow): void {
    if (!this.rows.has(sk) && this.sorted) this.sorted.splice(lowerBound(this.sorted, sk), 0, sk);
    this.rows.set(sk, row);
  }

  sortedKeys(): readonly string[] {
    return (this.sorted ??= [...this.rows.keys()].sort(compareKeys));
  }
}

export class RowIndex {
  private readonly partitions = new Map<string, Partition>();
  /** Bytes of the log held by records that some row still refers to. */
  liveBytes = 0;

  get(pk: string, sk: string): IndexedRow | undefined {
    return this.partitions.get(pk)?.rows.get(sk);
  }

  set(pk: string, sk: string, row: IndexedRow): void {
    let part = this.partitions.get(pk);
    if (!part) this.partitions.set(pk, (part = new Partition()));
    const old = part.rows.get(sk);
    if (old) this.liveBytes -= recordBytes(old);
    this.liveBytes += recordBytes(row);
    part.add(sk, row);
  }

  /** Sort keys of a partition in byte order (tombstoned rows included). */
  sortedKeys(pk: string): readonly string[] {
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

  /** Every record some row refers to. */
  *refs(): Generator<ValueRef> {
    for (const part of this.partitions.values()) {
      for (const row of part.rows.values()) for (const v of row.values) if (v.value) yield v.value;
    }
  }
}

function recordBytes(row: IndexedRow): number {
  let sum = 0;
  for (const v of row.values) sum += v.value?.recordLength ?? 0;
  return sum;
}
