/** SORT's order (RFC 5256 §3): criteria in turn, REVERSE flips the next one, ties by sequence number. */
import type { SortCriterion } from "../parser/types.ts";
import type { Sortable } from "./sortable.ts";

export function sortMessages(messages: readonly Sortable[], criteria: readonly SortCriterion[]): Sortable[] {
  return [...messages].sort((a, b) => {
    for (const c of criteria) {
      const d = compareBy(a, b, c.key);
      if (d !== 0) return c.reverse ? -d : d;
    }
    return a.seq - b.seq;
  });
}

function compareBy(a: Sortable, b: Sortable, key: SortCriterion["key"]): number {
  switch (key) {
    case "ARRIVAL":
      return a.arrival - b.arrival;
    case "DATE":
      return a.sent - b.sent;
    case "SIZE":
      return a.size - b.size;
    case "FROM":
      return compareText(a.from, b.from);
    case "TO":
      return compareText(a.to, b.to);
    case "CC":
      return compareText(a.cc, b.cc);
    case "SUBJECT":
      return compareText(a.subject.key, b.subject.key);
  }
}

/** Octet order of already case-mapped strings (i;ascii-casemap compares the UTF-8 octets). */
function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** By sent date, then sequence number: how THREAD orders siblings and threads (RFC 5256 §4). */
export function bySentDate(a: Sortable, b: Sortable): number {
  return a.sent - b.sent || a.seq - b.seq;
}
