/**
 * EMAILID and THREADID search keys (RFC 8474 §6) become UID sets before matching: an EMAILID is the
 * message id the index already keys by; no message has a THREADID (FETCH answers THREADID NIL).
 */
import type { UidIndex } from "../../../mail/uidIndex.ts";
import type { SearchKey } from "../parser/types.ts";

const NOTHING: SearchKey = { kind: "NOT", key: { kind: "ALL" } };

export function bindObjectIds(key: SearchKey, index: UidIndex): SearchKey {
  switch (key.kind) {
    case "EMAILID": {
      const uid = index.byId.get(key.id)?.uid;
      return uid === undefined ? NOTHING : { kind: "UID", set: { ranges: [{ from: uid, to: uid }] } };
    }
    case "THREADID":
      return NOTHING;
    case "NOT":
      return { kind: "NOT", key: bindObjectIds(key.key, index) };
    case "OR":
      return { kind: "OR", left: bindObjectIds(key.left, index), right: bindObjectIds(key.right, index) };
    case "AND":
      return { kind: "AND", keys: key.keys.map((k) => bindObjectIds(k, index)) };
    default:
      return key;
  }
}
