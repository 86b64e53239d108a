/**
 * A row of the s3 backend as the set of its version objects: which are alive (no other version
 * supersedes them), which can be garbage-collected, and what the RowStore caller sees.
 */
import type { RowEntry } from "../types.ts";
import { encodeToken, type VersionBody } from "./rowObjects.ts";

export interface RowState {
  entry: RowEntry;
  /** Versions alive, by id. */
  live: string[];
  /** Versions some alive-or-dead version supersedes: safe to delete. */
  superseded: string[];
}

export function rowState(sk: string, versions: Map<string, VersionBody>): RowState {
  const superseded = new Set<string>();
  for (const body of versions.values()) for (const id of body.supersedes) superseded.add(id);
  const live = [...versions.keys()].filter((id) => !superseded.has(id)).sort();
  const values: Uint8Array[] = [];
  const seen = new Set<string>();
  let hasTombstone = false;
  for (const id of live) {
    const value = versions.get(id)!.value;
    if (value === null) {
      hasTombstone = true;
      continue;
    }
    // Equal concurrent values are one sibling, as in K2V.
    const key = Buffer.from(value).toString("base64");
    if (seen.has(key)) continue;
    seen.add(key);
    values.push(Uint8Array.from(value));
  }
  return {
    entry: { sk, values, hasTombstone, token: encodeToken(live) },
    live,
    superseded: [...versions.keys()].filter((id) => superseded.has(id)),
  };
}

export function isLiveRow(state: RowState): boolean {
  return state.entry.values.length > 0;
}
