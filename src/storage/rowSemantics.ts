/**
 * K2V row semantics for stores that are a single writer node (the in-memory fake and the embedded
 * folder): the dotted-version-vector machinery of Garage's k2v-spec collapses to one counter per
 * row. Every stored value carries the counter at which it was written (its dot); a causality token
 * is the row counter the reader saw; writing with token t supersedes every value whose dot <= t.
 * Pure functions over data, shared by the backends that need them.
 */
import { Invalid } from "../errors.ts";
import type { CausalityToken, RangeQuery, RowEntry } from "./types.ts";

/** A sibling. `V` is the value itself, or (embedded store) where the value lives on disk. */
export interface StoredValue<V = Uint8Array> {
  dot: number;
  /** null is a tombstone. */
  value: V | null;
}

export interface StoredRow<V = Uint8Array> {
  counter: number;
  values: StoredValue<V>[];
}

export function encodeToken(counter: number): CausalityToken {
  return `c${counter.toString(36)}`;
}

export function decodeToken(token: CausalityToken | undefined): number {
  if (token === undefined) return 0;
  const m = /^c([0-9a-z]{1,12})$/.exec(token);
  if (!m) throw new Invalid(`malformed causality token "${token.slice(0, 40)}"`);
  return parseInt(m[1]!, 36);
}

/**
 * The row after writing `value` (null = tombstone) with the given token. A row the store holds no
 * record of starts above `floor`: the embedded store forgets deleted rows at compaction, and a
 * token from before (at most the floor) must not supersede what is written after.
 */
export function applyWrite<V>(
  row: StoredRow<V> | undefined,
  value: V | null,
  token: CausalityToken | undefined,
  floor = 0,
): StoredRow<V> {
  const seen = decodeToken(token);
  const counter = (row?.counter ?? floor) + 1;
  const kept = (row?.values ?? []).filter((v) => v.dot > seen);
  return { counter, values: [...kept, { dot: counter, value }] };
}

export function toEntry(sk: string, row: StoredRow): RowEntry {
  const live: Uint8Array[] = [];
  let hasTombstone = false;
  for (const v of row.values) {
    if (v.value === null) hasTombstone = true;
    else if (!live.some((x) => bytesEqual(x, v.value!))) live.push(v.value); // K2V dedups siblings
  }
  return { sk, values: live, hasTombstone, token: encodeToken(row.counter) };
}

export function isLive<V>(row: StoredRow<V>): boolean {
  return row.values.some((v) => v.value !== null);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Byte-order comparison of two strings' UTF-8 encodings (K2V and S3 order), without encoding them.
 * UTF-8 byte order is code point order; UTF-16 code unit order differs from it only in that
 * surrogates (D800-DFFF, i.e. code points >= 10000) sort below E000-FFFF, so those two ranges swap.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * Sort keys in ascending order, by position: an array, or a view that spells a key only when asked
 * (the embedded row index keeps ids as bytes, rowIndex.ts).
 */
export interface SortedKeys {
  readonly length: number;
  at(index: number): string | undefined;
}

/** First index of `sortedKeys` whose key is >= `key`. */
export function lowerBound(sortedKeys: SortedKeys, key: string): number {
  return firstIndexWhere(sortedKeys, 0, (k) => compareKeys(k, key) >= 0);
}

/** First index of `sortedKeys` whose key is > `key`. */
export function upperBound(sortedKeys: SortedKeys, key: string): number {
  return firstIndexWhere(sortedKeys, 0, (k) => compareKeys(k, key) > 0);
}

/** Binary search for the first index >= from where `pred` holds; `pred` must be monotone. */
function firstIndexWhere(keys: SortedKeys, from: number, pred: (k: string) => boolean): number {
  let lo = from;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(keys.at(mid)!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Selects sort keys from an ordered list as K2V's ReadBatch does: prefix, start (inclusive; with
 * reverse the highest key), end (excluded), limit, reverse. `sortedKeys` is in ascending order;
 * keys for which `include` is false (tombstoned rows) are passed over. Cost is O(log n + rows
 * looked at), so paging through a large partition stays linear.
 */
export function selectRange(
  sortedKeys: SortedKeys,
  query: RangeQuery = {},
  include: (key: string) => boolean = () => true,
): { keys: string[]; nextStart?: string } {
  const { prefix = "", start, end, limit, reverse } = query;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new Invalid(`range limit must be a non-negative integer, got ${limit}`);
  }
  // Keys that start with `prefix` form one block beginning at the first key >= prefix.
  const lo = lowerBound(sortedKeys, prefix);
  const hi = firstIndexWhere(sortedKeys, lo, (k) => !k.startsWith(prefix));
  const keys: string[] = [];
  const take = (k: string): boolean => {
    if (!include(k)) return true;
    if (limit !== undefined && keys.length === limit) return false;
    keys.push(k);
    return true;
  };
  if (!reverse) {
    for (let i = start === undefined ? lo : Math.max(lo, lowerBound(sortedKeys, start)); i < hi; i++) {
      const k = sortedKeys.at(i)!;
      if (end !== undefined && compareKeys(k, end) >= 0) break;
      if (!take(k)) return { keys, nextStart: k };
    }
  } else {
    const top = start === undefined ? hi : Math.min(hi, upperBound(sortedKeys, start));
    for (let i = top - 1; i >= lo; i--) {
      const k = sortedKeys.at(i)!;
      if (end !== undefined && compareKeys(k, end) <= 0) break;
      if (!take(k)) return { keys, nextStart: k };
    }
  }
  return { keys };
}
