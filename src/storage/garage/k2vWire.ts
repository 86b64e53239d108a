/**
 * K2V's JSON forms (doc/drafts/k2v-spec.md) and their RowStore meaning: values are base64, null
 * is a tombstone, equal concurrent values are one sibling.
 */
import type { RangeQuery, RowEntry } from "../types.ts";
import { compareKeys } from "../rowSemantics.ts";

export type WireValues = (string | null)[];

export interface WireItem {
  sk: string;
  ct: string;
  v: WireValues;
}

export function entryFromWire(sk: string, token: string, values: WireValues): RowEntry {
  const live: Uint8Array[] = [];
  const seen = new Set<string>();
  let hasTombstone = false;
  for (const v of values) {
    if (v === null) hasTombstone = true;
    else if (!seen.has(v)) {
      seen.add(v);
      const bytes = Buffer.from(v, "base64");
      live.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  }
  return { sk, values: live, hasTombstone, token };
}

/**
 * The range query Garage accepts for ours. Garage refuses a `start` outside `prefix`; ours means
 * "the prefix's keys from start on", which is all of them when start sorts before the prefix
 * block and none when it sorts after (the other way round in reverse). null: the range is empty.
 */
export function garageRange(query: RangeQuery): { prefix?: string; start?: string; end?: string } | null {
  const { prefix, start, end } = query;
  const out: { prefix?: string; start?: string; end?: string } = {};
  if (prefix) out.prefix = prefix;
  if (end !== undefined) out.end = end;
  if (start === undefined) return out;
  if (!prefix || start.startsWith(prefix)) return { ...out, start };
  const before = compareKeys(start, prefix) < 0;
  if (before !== Boolean(query.reverse)) return out; // every key of the prefix is on the listed side
  return null;
}
