/**
 * RECENT, NEW and OLD (RFC 3501 §6.4.4) depend on which messages this session sees as \Recent, not
 * on the message alone: before matching they become a UID set, so the matcher stays per message.
 */
import type { SearchKey } from "../parser/types.ts";

export function bindRecent(key: SearchKey, recent: ReadonlySet<number>): SearchKey {
  switch (key.kind) {
    case "RECENT":
      return recentKey(recent);
    case "NEW":
      return { kind: "AND", keys: [recentKey(recent), { kind: "UNSEEN" }] };
    case "OLD":
      return { kind: "NOT", key: recentKey(recent) };
    case "NOT":
      return { kind: "NOT", key: bindRecent(key.key, recent) };
    case "OR":
      return { kind: "OR", left: bindRecent(key.left, recent), right: bindRecent(key.right, recent) };
    case "AND":
      return { kind: "AND", keys: key.keys.map((k) => bindRecent(k, recent)) };
    default:
      return key;
  }
}

function recentKey(recent: ReadonlySet<number>): SearchKey {
  if (recent.size === 0) return { kind: "NOT", key: { kind: "ALL" } };
  // Recent UIDs are mostly one run (claimed above a floor): few ranges to test each message against.
  const ranges: { from: number; to: number }[] = [];
  for (const uid of [...recent].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last && last.to === uid - 1) last.to = uid;
    else ranges.push({ from: uid, to: uid });
  }
  return { kind: "UID", set: { ranges } };
}
