/**
 * K2V row semantics for stores that are a single writer node (the in-memory fake and the embedded
 * folder): the dotted-version-vector machinery of Garage's k2v-spec collapses to one counter per
 * row. Every stored value carries the counter at which it was written (its dot); a causality token
 * is the row counter the reader saw; writing with token t supersedes every value whose dot <= t.
 * Pure functions over data, shared by the backends that need them.
 */
import { Invalid } from "../errors.ts";
import type { CausalityToken, RangeQuery, RowEntry } from "./types.ts";

export interface StoredValue {
  dot: number;
  /** null is a tombstone. */
  value: Uint8Array | null;
}

export interface StoredRow {
  counter: number;
  values: StoredValue[];
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

/** The row after writing `value` (null = tombstone) with the given token. */
export function applyWrite(
  row: StoredRow | undefined,
  value: Uint8Array | null,
  token: CausalityToken | undefined,
): StoredRow {
  const seen = decodeToken(token);
  const counter = (row?.counter ?? 0) + 1;
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

export function isLive(row: StoredRow): boolean {
  return row.values.some((v) => v.value !== null);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-order comparison of two strings' UTF-8 encodings (K2V and S3 order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Selects sort keys from an ordered list as K2V's ReadBatch does: prefix, start (inclusive; with
 * reverse the highest key), end (excluded), limit, reverse. `sortedKeys` is in ascending order.
 */
export function selectRange(
  sortedKeys: string[],
  query: RangeQuery = {},
): { keys: string[]; nextStart?: string } {
  const { prefix, start, end, limit, reverse } = query;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new Invalid(`range limit must be a non-negative integer, got ${limit}`);
  }
  const ordered = reverse ? [...sortedKeys].reverse() : sortedKeys;
  const keys: string[] = [];
  for (const k of ordered) {
    if (prefix !== undefined && !k.startsWith(prefix)) continue;
    if (start !== undefined && (reverse ? compareKeys(k, start) > 0 : compareKeys(k, start) < 0)) continue;
    if (end !== undefined && (reverse ? compareKeys(k, end) <= 0 : compareKeys(k, end) >= 0)) break;
    if (limit !== undefined && keys.length === limit) return { keys, nextStart: k };
    keys.push(k);
  }
  return { keys };
}
