/**
 * The two seams between mail/ and the bytes (DESIGN.md §3). Every backend (embedded, garage, s3)
 * implements both and passes test/storage/conformance.test.ts.
 *
 * Keys, partition keys and sort keys are opaque UTF-8 strings; ordering is the lexicographic order
 * of their UTF-8 bytes (as in K2V and S3 listings).
 */

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (HTTP Range semantics). Omit for "to the end". */
  end?: number;
}

export interface BlobHead {
  size: number;
}

export interface BlobListing {
  keys: string[];
  /** Set when the listing stopped at `limit` and more keys follow. */
  nextStartAfter?: string;
}

export interface BlobStore {
  /** Durable once the promise resolves. Overwrites. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** null when absent. A range past the end is clipped to the object. */
  get(key: string, range?: ByteRange): Promise<Uint8Array | null>;
  head(key: string): Promise<BlobHead | null>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, in order, strictly after `startAfter`. */
  list(prefix: string, startAfter?: string, limit?: number): Promise<BlobListing>;
  /** Server-side copy; throws NotFound when `from` is absent. */
  copy(from: string, to: string): Promise<void>;
}

/** An opaque causality token (K2V's `X-Garage-Causality-Token`). */
export type CausalityToken = string;

export interface RowEntry {
  sk: string;
  /** Concurrent values (siblings), tombstones left out. Empty when the row is deleted. */
  values: Uint8Array[];
  /** True when one of the siblings is a tombstone (a delete concurrent with an insert). */
  hasTombstone: boolean;
  token: CausalityToken;
}

export interface RangeQuery {
  prefix?: string;
  /** First sort key (inclusive); with `reverse`, the highest key returned. */
  start?: string;
  /** Sort key where listing stops (excluded). */
  end?: string;
  limit?: number;
  reverse?: boolean;
}

export interface RangeResult {
  items: RowEntry[];
  /** Set when stopped by `limit` and more rows follow: the next `start`. */
  nextStart?: string;
}

export interface RowWrite {
  pk: string;
  sk: string;
  /** null writes a tombstone. */
  value: Uint8Array | null;
  token?: CausalityToken;
}

export interface RowStore {
  /**
   * All siblings and the token. null when the row never existed. A deleted row (only tombstones)
   * comes back with `values: []` and a token, so a later insert can supersede the delete.
   */
  read(pk: string, sk: string): Promise<RowEntry | null>;
  /**
   * With the token of a read, the value replaces every sibling that read saw; without a token (or
   * with a stale one) it is added as a sibling beside what the token did not cover.
   */
  insert(pk: string, sk: string, value: Uint8Array, token?: CausalityToken): Promise<void>;
  /** Several inserts/deletes in one call (K2V InsertBatch). Not a transaction. */
  insertBatch(writes: RowWrite[]): Promise<void>;
  /** Several single-row reads in one call (K2V ReadBatch); results in the order asked. */
  readBatch(keys: { pk: string; sk: string }[]): Promise<(RowEntry | null)[]>;
  /**
   * Local stores only (the embedded and memory stores): whether each row holds a live value, from
   * the store's own index, without reading it. The local cache asks it to learn which rows it lacks
   * without reading every copy it holds (mail/metaAhead.ts).
   */
  hasRows?(keys: { pk: string; sk: string }[]): boolean[];
  /** Writes a tombstone superseding what `token` saw. */
  delete(pk: string, sk: string, token: CausalityToken): Promise<void>;
  /** Rows in sort-key order; rows that are only tombstones are left out. */
  readRange(pk: string, query?: RangeQuery): Promise<RangeResult>;
  /** Deletes every live row in the range (prefix/start/end); returns how many. */
  deleteRange(pk: string, query?: Omit<RangeQuery, "limit" | "reverse">): Promise<number>;
  /**
   * Resolves with the row as soon as it changes past `token` (or at once if it already has), or
   * null when `timeoutMs` passes without change. Without a token, waits for the row to exist.
   */
  poll(
    pk: string,
    sk: string,
    token: CausalityToken | undefined,
    timeoutMs: number,
  ): Promise<RowEntry | null>;
}

export interface Store {
  blobs: BlobStore;
  rows: RowStore;
  /** Releases locks, sockets and timers. */
  close(): Promise<void>;
  /** Set when a local cache stands in front of a remote store (storage/cache/). */
  readonly localCache?: LocalCache;
  /**
   * Blob reads worth having in flight at once now (a network store's pool, which follows the round
   * trip: a far host wants more of them); absent for a local store.
   */
  readParallelism?(): number;
  /**
   * Row values up to this many bytes cost no more to write beside others in one batch than a small
   * one (K2V: an item is one table entry, where an object is a block file and three entries).
   * Absent where a large row is dear: s3's rows are objects, the embedded log's rows small records.
   */
  readonly largeRowBytes?: number;
}

/**
 * What a caller may ask of the local cache in front of a remote store: what it holds, and to drop
 * copies of objects that are gone elsewhere. Reads through the store fill it; this fills nothing.
 */
export interface LocalCache {
  /** False once the cache failed or was closed (everything then goes to the remote). */
  readonly usable: boolean;
  /**
   * Bytes of cached blobs and of the rows counted with them (CachePolicy.budgetedRowPartitions),
   * and the most it keeps (least recently used out first).
   */
  readonly blobBytes: number;
  readonly maxBlobBytes: number;
  /** Whether a read of this blob would be served locally (no I/O). */
  hasBlob(key: string): boolean;
  /** Every cached blob's key, least recently used first. */
  blobKeys(): string[];
  /** Sort keys of the cached rows of partition `pk` (one local listing, in pages). */
  rowKeys(pk: string): Promise<string[]>;
  /**
   * Which of these rows of partition `pk` a read would fetch from the remote: not cached, and not
   * on their way already. Cheap when the cache store has an index (RowStore.hasRows).
   */
  uncachedRows(pk: string, sks: readonly string[]): Promise<string[]>;
  /** Marks these cached blobs as used, in this order (the last is the most recently used). */
  rank(keys: readonly string[]): void;
  /** The same for cached rows of partition `pk` kept in the byte budget (others have no rank). */
  rankRows(pk: string, sks: readonly string[]): void;
  /** Drops local copies (the remote is not touched); resolves once they are gone. */
  forget(rows: readonly { pk: string; sk: string }[], blobs: readonly string[]): Promise<void>;
  /** Resolves once every copy started so far is in the cache (or was dropped). */
  settle(): Promise<void>;
  /**
   * Resolves once `rows` more copies can wait to be written without any being dropped (the cache
   * drops copies beyond what it has queued): a caller about to read many rows waits here first.
   */
  roomFor(rows: number): Promise<void>;
  /**
   * Copies of what is written through wait for `quiet` (a lull in the caller's work): blobs, a
   * bounded number of bytes of them, served from memory meanwhile; rows, read back at the lull.
   */
  holdCopiesUntil(quiet: () => Promise<void>): void;
}
