/**
 * Copies of the rows of the budgeted partitions (CachePolicy.budgetedRowPartitions): large values
 * that must count against the cache's byte budget, as blobs do. So they are kept as blobs of the
 * cache store, under a key derived from the row, and go through the same BlobBudget: counted at
 * open, least recently used out first, and a budget of 0 keeps none. The bytes are the row as
 * cachedRowEntry.ts encodes it (the remote's causality token too, as for every cached row: a
 * caller may delete a row with the token its read returned), sealed as the remote holds them.
 *
 * A derived key starts with a NUL, which no key this store caches from the remote holds.
 */
import type { BlobStore } from "../types.ts";
import type { BlobBudget } from "./blobBudget.ts";
import type { CacheWriter, Fill } from "./cacheWriter.ts";

type RowKey = { pk: string; sk: string };

export const ROW_COPY_PREFIX = "\u0000row/";

/** The writer's key of a row (cachedRows.ts), shared here so an eviction queues behind its fills. */
export const rowWriterKey = (pk: string, sk: string): string => `r:${pk}\u0000${sk}`;

export const rowCopyKey = (pk: string, sk: string): string => `${ROW_COPY_PREFIX}${pk}\u0000${sk}`;

export const isRowCopy = (key: string): boolean => key.startsWith(ROW_COPY_PREFIX);

/** The writer key a cache blob's writes queue under: a row copy's is its row's. */
export function writerKeyOfBlob(key: string): string {
  return isRowCopy(key) ? `r:${key.slice(ROW_COPY_PREFIX.length)}` : key;
}

/** Deletes evicted copies, each behind the writes queued for it. */
export function evictCopies(writer: CacheWriter, blobs: BlobStore, keys: readonly string[]): void {
  for (const key of keys) writer.run(writerKeyOfBlob(key), () => blobs.delete(key));
}

export class RowCopies {
  constructor(
    private readonly blobs: BlobStore,
    private readonly budget: BlobBudget,
    private readonly writer: CacheWriter,
  ) {}

  has(k: RowKey): boolean {
    return this.budget.has(rowCopyKey(k.pk, k.sk));
  }

  fits(size: number): boolean {
    return size <= this.budget.maxBytes;
  }

  /** The encoded copies, by position; undefined where there is none. A hit is a use. */
  async read(keys: readonly RowKey[]): Promise<(Uint8Array | undefined)[]> {
    const out = new Array<Uint8Array | undefined>(keys.length).fill(undefined);
    // A few files at a time: a batch of 500 opens at once could run out of file descriptors.
    for (let i = 0; i < keys.length; i += 32) {
      const some = keys.slice(i, i + 32).map((k) => rowCopyKey(k.pk, k.sk));
      const got = await Promise.all(
        some.map((key) => (this.budget.has(key) ? this.blobs.get(key) : Promise.resolve(null))),
      );
      got.forEach((bytes, j) => {
        const key = some[j]!;
        if (bytes) {
          this.budget.touch(key);
          out[i + j] = bytes;
        } else this.budget.remove(key); // gone from the folder (deleted by hand): a miss
      });
    }
    return out;
  }

  /** Writes a copy (inside the fill's turn) and accounts for it; evicts what no longer fits. */
  async write(k: RowKey, bytes: Uint8Array, fill: Fill): Promise<void> {
    const key = rowCopyKey(k.pk, k.sk);
    if (!this.fits(bytes.length)) return;
    await this.blobs.put(key, bytes);
    if (!fill.stale) evictCopies(this.writer, this.blobs, this.budget.add(key, bytes.length));
    else await this.blobs.delete(key);
  }

  /** Drops the copies of these rows (a change, or gone elsewhere). */
  async drop(rows: readonly RowKey[]): Promise<void> {
    for (const r of rows) {
      const key = rowCopyKey(r.pk, r.sk);
      if (!this.budget.has(key)) continue;
      this.budget.remove(key);
      await this.blobs.delete(key);
    }
  }

  /** Sort keys of the copies of partition `pk`, in no particular order. */
  keys(pk: string): string[] {
    const prefix = rowCopyKey(pk, "");
    return this.budget
      .keys()
      .filter((key) => key.startsWith(prefix))
      .map((key) => key.slice(prefix.length));
  }
}
