/**
 * What the local cache may keep (DESIGN.md §7). Storage knows nothing of mail, so the caller names
 * the objects that never change once written: only those are cached, because only for those is a
 * copy on this computer as good as the remote, whatever other computers on the bucket do.
 */
import type { Log } from "../../log.ts";

export interface CachePolicy {
  /** Row partition keys whose rows are written once and only ever deleted afterwards. */
  rowPartitions: readonly string[] | ((pk: string) => boolean);
  /**
   * Partitions whose rows are written once and only ever deleted, and large: their copies count
   * against `maxBytes` and are evicted with the blobs (rowCopies.ts). Cached, whether or not
   * `rowPartitions` names them too.
   */
  budgetedRowPartitions?: readonly string[];
  /** Blob key prefixes whose blobs are written once and only ever deleted afterwards. */
  blobPrefixes: readonly string[] | ((key: string) => boolean);
  /** Cached blobs and budgeted rows are kept under this many bytes; other rows are not counted. */
  maxBytes?: number;
  /** Where the cache reports that it stopped working or could not start; never a secret in here. */
  log?: Log;
}

export const DEFAULT_CACHE_MAX_BYTES = 1024 ** 3;

/** The policy as two predicates (a test may give predicates itself, to cache more). */
export interface CacheRules {
  isImmutableRow(pk: string): boolean;
  /** Whether a cached row of `pk` is kept in the byte budget (rowCopies.ts). */
  isBudgetedRow(pk: string): boolean;
  isImmutableBlob(key: string): boolean;
  /** Where to look for the cached blobs at open: the prefixes, or "" for a predicate. */
  blobListPrefixes: string[];
  maxBytes: number;
  log?: Log;
}

export function cacheRules(policy: CachePolicy): CacheRules {
  const { rowPartitions, blobPrefixes } = policy;
  const partitions = typeof rowPartitions === "function" ? undefined : new Set(rowPartitions);
  const prefixes = typeof blobPrefixes === "function" ? undefined : [...blobPrefixes];
  const budgeted = new Set(policy.budgetedRowPartitions ?? []);
  const isListedRow = partitions
    ? (pk: string) => partitions.has(pk)
    : (rowPartitions as (pk: string) => boolean);
  const maxBytes = policy.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError(`the cache's byte budget must be a whole number >= 0, not ${maxBytes}`);
  return {
    isImmutableRow: (pk) => budgeted.has(pk) || isListedRow(pk),
    isBudgetedRow: (pk) => budgeted.has(pk),
    isImmutableBlob: prefixes
      ? (key) => prefixes.some((p) => key.startsWith(p))
      : (blobPrefixes as (key: string) => boolean),
    blobListPrefixes: prefixes ?? [""],
    maxBytes,
    log: policy.log,
  };
}
