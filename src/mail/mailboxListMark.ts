/**
 * This computer's mark of the mailbox list (localMarks.ts keeps it): the newest stamp it saw for
 * each name. Honest storage only moves a name's stamp forward: a name is never removed (deletion
 * leaves a tombstone), a write supersedes only the siblings it read and merged, and its new
 * stamps sort after every stamp it read (mailboxListStore.ts). So a list where some name is
 * missing or older than its mark is an older list, served again. Pure functions.
 */
import type { MailboxList } from "./mailboxList.ts";

export type ListMark = Map<string, string>;

/** The mark after seeing `list`: each name's newest stamp. */
export function listMarkOf(list: MailboxList, previous: ListMark = new Map()): ListMark {
  const mark = new Map(previous);
  for (const [name, entry] of list) {
    const seen = mark.get(name);
    if (seen === undefined || entry.ts > seen) mark.set(name, entry.ts);
  }
  return mark;
}

/** What went back, in words (no mailbox names: they go to logs), or undefined. */
export function listRegression(mark: ListMark, list: MailboxList): string | undefined {
  let missing = 0;
  let older = 0;
  for (const [name, ts] of mark) {
    const entry = list.get(name);
    if (!entry) missing += 1;
    else if (entry.ts < ts) older += 1;
  }
  if (missing === 0 && older === 0) return undefined;
  const parts = [];
  if (missing > 0)
    parts.push(
      `${missing} mailbox name${missing > 1 ? "s" : ""} this computer saw ${missing > 1 ? "are" : "is"} missing`,
    );
  if (older > 0) parts.push(`${older} ${older > 1 ? "are" : "is"} older than this computer saw`);
  return `the mailbox list is older than the one this computer saw: ${parts.join(", ")}`;
}

export function sameListMark(a: ListMark, b: ListMark): boolean {
  if (a.size !== b.size) return false;
  for (const [name, ts] of a) if (b.get(name) !== ts) return false;
  return true;
}

export function encodeListMark(mark: ListMark): Record<string, string> {
  return Object.fromEntries(mark);
}

export function decodeListMark(value: unknown): ListMark {
  if (!value || typeof value !== "object") return new Map();
  return new Map(
    Object.entries(value as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === "string",
    ),
  );
}
