/**
 * An in-process store with the exact semantics of the real backends. For unit tests only: it keeps
 * nothing across restarts.
 */
import { EventEmitter } from "node:events";
import { NotFound } from "../errors.ts";
import {
  applyWrite,
  compareKeys,
  decodeToken,
  isLive,
  lowerBound,
  selectRange,
  toEntry,
  type StoredRow,
} from "./rowSemantics.ts";
import type {
  BlobListing,
  BlobStore,
  ByteRange,
  CausalityToken,
  RangeQuery,
  RangeResult,
  RowEntry,
  RowStore,
  RowWrite,
  Store,
} from "./types.ts";
import { sliceRange } from "./blobRange.ts";

export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, Uint8Array>();

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, Uint8Array.from(bytes));
  }
  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    const obj = this.objects.get(key);
    if (!obj) return null;
    return Uint8Array.from(sliceRange(obj, range));
  }
  async head(key: string) {
    const obj = this.objects.get(key);
    return obj ? { size: obj.length } : null;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async list(prefix: string, startAfter?: string, limit?: number): Promise<BlobListing> {
    const all = [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix) && (startAfter === undefined || compareKeys(k, startAfter) > 0))
      .sort(compareKeys);
    if (limit !== undefined && all.length > limit) {
      const keys = all.slice(0, limit);
      return { keys, nextStartAfter: keys[keys.length - 1] };
    }
    return { keys: all };
  }
  async copy(from: string, to: string): Promise<void> {
    const obj = this.objects.get(from);
    if (!obj) throw new NotFound(`blob ${from} does not exist`);
    this.objects.set(to, Uint8Array.from(obj));
  }
}

export class MemoryRowStore implements RowStore {
  private readonly partitions = new Map<string, Map<string, StoredRow>>();
  /**
   * Each partition's sort keys in K2V order, kept as rows are added (a row, even tombstoned, is
   * never removed), so a range read does not sort the partition again: the Bayou property tests
   * read ranges after nearly every write, and sorting was a fifth of their CPU time.
   */
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly changes = new EventEmitter();
  /** How to end each poll still waiting, at close. */
  private readonly pendingPolls = new Set<() => void>();

  constructor() {
    this.changes.setMaxListeners(0);
  }

  private row(pk: string, sk: string): StoredRow | undefined {
    return this.partitions.get(pk)?.get(sk);
  }

  private write(pk: string, sk: string, value: Uint8Array | null, token?: CausalityToken): void {
    decodeToken(token);
    let part = this.partitions.get(pk);
    if (!part) this.partitions.set(pk, (part = new Map<string, StoredRow>()));
    const row = part.get(sk);
    if (!row) {
      let keys = this.sortedKeys.get(pk);
      if (!keys) this.sortedKeys.set(pk, (keys = []));
      keys.splice(lowerBound(keys, sk), 0, sk);
    }
    part.set(sk, applyWrite(row, value && Uint8Array.from(value), token));
    this.changes.emit(`${pk}\u0000${sk}`);
  }

  async read(pk: string, sk: string): Promise<RowEntry | null> {
    const row = this.row(pk, sk);
    return row ? entryCopy(sk, row) : null;
  }
  async insert(pk: string, sk: string, value: Uint8Array, token?: CausalityToken): Promise<void> {
    this.write(pk, sk, value, token);
  }
  async insertBatch(writes: RowWrite[]): Promise<void> {
    for (const w of writes) decodeToken(w.token);
    for (const w of writes) this.write(w.pk, w.sk, w.value, w.token);
  }
  async readBatch(keys: { pk: string; sk: string }[]): Promise<(RowEntry | null)[]> {
    return Promise.all(keys.map((k) => this.read(k.pk, k.sk)));
  }
  hasRows(keys: { pk: string; sk: string }[]): boolean[] {
    return keys.map((k) => {
      const row = this.row(k.pk, k.sk);
      return row !== undefined && isLive(row);
    });
  }
  async delete(pk: string, sk: string, token: CausalityToken): Promise<void> {
    this.write(pk, sk, null, token);
  }
  async readRange(pk: string, query?: RangeQuery): Promise<RangeResult> {
    const part = this.partitions.get(pk);
    if (!part) return { items: [] };
    const sorted = this.sortedKeys.get(pk)!;
    const { keys, nextStart } = selectRange(sorted, query, (sk) => isLive(part.get(sk)!));
    return { items: keys.map((sk) => entryCopy(sk, part.get(sk)!)), nextStart };
  }
  async deleteRange(pk: string, query?: Omit<RangeQuery, "limit" | "reverse">): Promise<number> {
    const { items } = await this.readRange(pk, query);
    for (const item of items) this.write(pk, item.sk, null, item.token);
    return items.length;
  }
  poll(
    pk: string,
    sk: string,
    token: CausalityToken | undefined,
    timeoutMs: number,
  ): Promise<RowEntry | null> {
    const seen = decodeToken(token);
    const changed = (): RowEntry | null => {
      const row = this.row(pk, sk);
      return row && row.counter > seen ? entryCopy(sk, row) : null;
    };
    const now = changed();
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const event = `${pk}\u0000${sk}`;
      const onChange = () => {
        const entry = changed();
        if (!entry) return;
        clearTimeout(timer);
        this.changes.off(event, onChange);
        this.pendingPolls.delete(giveUp);
        resolve(entry);
      };
      const giveUp = () => {
        clearTimeout(timer);
        this.changes.off(event, onChange);
        this.pendingPolls.delete(giveUp);
        resolve(null);
      };
      const timer = setTimeout(giveUp, timeoutMs);
      this.changes.on(event, onChange);
      this.pendingPolls.add(giveUp);
    });
  }

  /** Ends pending polls with null, as at their timeout, so that no timer outlives the store. */
  close(): void {
    for (const giveUp of [...this.pendingPolls]) giveUp();
  }
}

/** An entry whose values the caller may change without changing the store, as with a real backend. */
function entryCopy(sk: string, row: StoredRow): RowEntry {
  const entry = toEntry(sk, row);
  return { ...entry, values: entry.values.map((v) => Uint8Array.from(v)) };
}

/** `largeRowBytes`: to stand in for a store whose rows take large values (Store.largeRowBytes). */
export function memoryStore(options: { largeRowBytes?: number } = {}): Store {
  const rows = new MemoryRowStore();
  return { blobs: new MemoryBlobStore(), rows, ...options, close: async () => rows.close() };
}
