/**
 * The account's list of mailboxes: name -> {mailbox id, UIDVALIDITY, subscription, special use}.
 * It lives sealed in one row (`mailboxes`/`list`, DESIGN.md §4). Concurrent writers on several
 * computers leave siblings in that row; `mergeMailboxLists` folds them with last-writer-wins per
 * name, so every reader computes the same list. Deleted names stay as tombstones (id null) so a
 * delete is not undone by an older sibling. Pure functions; names are Unicode with "/" as the
 * hierarchy delimiter.
 */
import { AlreadyExists, Invalid, NotFound } from "../errors.ts";

export const DELIMITER = "/";

export type SpecialUse = "\\Sent" | "\\Drafts" | "\\Trash" | "\\Archive" | "\\Junk" | "\\All" | "\\Flagged";

export interface MailboxEntry {
  /** null: the name was deleted (or only ever subscribed). */
  id: string | null;
  uidvalidity: number;
  subscribed: boolean;
  specialUse?: SpecialUse;
  /** Last-writer-wins stamp: sortable time + random, like op timestamps. */
  ts: string;
}

export type MailboxList = Map<string, MailboxEntry>;

/** The mailboxes an account starts with (issue: made at account creation, with special use). */
export const DEFAULT_MAILBOXES: [string, SpecialUse | undefined][] = [
  ["INBOX", undefined],
  ["Sent", "\\Sent"],
  ["Drafts", "\\Drafts"],
  ["Trash", "\\Trash"],
  ["Archive", "\\Archive"],
  ["Junk", "\\Junk"],
];

/** RFC 3501 §5.1: INBOX is case-insensitive; every other name is case-sensitive. */
export function canonicalName(name: string): string {
  return name.toUpperCase() === "INBOX" ? "INBOX" : name;
}

export function validateName(name: string): string {
  const n = canonicalName(name);
  if (n.length === 0) throw new Invalid("a mailbox name cannot be empty");
  if (n.startsWith(DELIMITER) || n.endsWith(DELIMITER) || n.includes(DELIMITER + DELIMITER)) {
    throw new Invalid(`mailbox name "${n}" has an empty hierarchy level`);
  }
  if ([...n].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f" || c === "*" || c === "%")) {
    throw new Invalid(`mailbox name "${n}" contains a control character or a wildcard`);
  }
  if (Buffer.byteLength(n) > 1000) throw new Invalid("mailbox name is too long");
  return n;
}

function newer(a: MailboxEntry, b: MailboxEntry): MailboxEntry {
  if (a.ts !== b.ts) return a.ts > b.ts ? a : b;
  // Same stamp (cannot happen with random suffixes, but stay deterministic).
  return JSON.stringify(a) >= JSON.stringify(b) ? a : b;
}

export function mergeMailboxLists(lists: MailboxList[]): MailboxList {
  const out: MailboxList = new Map();
  for (const list of lists) {
    for (const [name, entry] of list) {
      const cur = out.get(name);
      out.set(name, cur ? newer(cur, entry) : entry);
    }
  }
  return out;
}

export function liveNames(list: MailboxList): string[] {
  return [...list.entries()]
    .filter(([, e]) => e.id !== null)
    .map(([n]) => n)
    .sort();
}

export function lookup(list: MailboxList, name: string): (MailboxEntry & { id: string }) | undefined {
  const entry = list.get(canonicalName(name));
  return entry && entry.id !== null ? (entry as MailboxEntry & { id: string }) : undefined;
}

/** A UIDVALIDITY for a (re)created name: greater than any it had before (RFC 3501 §2.3.1.1). */
function freshUidvalidity(previous: MailboxEntry | undefined, nowMs: number): number {
  const now = Math.floor(nowMs / 1000);
  // Leave room for the +1 bumps a UidIndex may make on a UID clash.
  return Math.min(0xffffffff, Math.max(now, (previous?.uidvalidity ?? 0) + 1000));
}

export interface Stamp {
  ts: string;
  nowMs: number;
  newId: () => string;
}

export function createMailbox(
  list: MailboxList,
  name: string,
  stamp: Stamp,
  specialUse?: SpecialUse,
): MailboxList {
  const n = validateName(name);
  if (lookup(list, n)) throw new AlreadyExists(`mailbox "${n}" already exists`);
  const prev = list.get(n);
  const out = new Map(list);
  out.set(n, {
    id: stamp.newId(),
    uidvalidity: freshUidvalidity(prev, stamp.nowMs),
    subscribed: prev?.subscribed ?? false,
    ...(specialUse ? { specialUse } : {}),
    ts: stamp.ts,
  });
  return out;
}

/** Returns the list without `name` and the id that was deleted (its mail must go too). */
export function deleteMailbox(list: MailboxList, name: string, stamp: Stamp): [MailboxList, string] {
  const n = canonicalName(name);
  if (n === "INBOX") throw new Invalid("INBOX cannot be deleted");
  const entry = lookup(list, n);
  if (!entry) throw new NotFound(`mailbox "${n}" does not exist`);
  const out = new Map(list);
  out.set(n, { id: null, uidvalidity: entry.uidvalidity, subscribed: entry.subscribed, ts: stamp.ts });
  return [out, entry.id];
}

/**
 * Renames `from` and every name below it (RFC 3501 §6.3.5). Renaming INBOX moves its mail to the
 * new name and leaves an empty INBOX behind, with a new id.
 */
export function renameMailbox(list: MailboxList, from: string, to: string, stamp: Stamp): MailboxList {
  const src = canonicalName(from);
  const dst = validateName(to);
  if (!lookup(list, src)) throw new NotFound(`mailbox "${src}" does not exist`);
  if (lookup(list, dst)) throw new AlreadyExists(`mailbox "${dst}" already exists`);
  if (dst.startsWith(src + DELIMITER)) throw new Invalid(`cannot rename "${src}" into itself`);
  const moves: [string, string][] =
    src === "INBOX"
      ? [[src, dst]]
      : liveNames(list)
          .filter((n) => n === src || n.startsWith(src + DELIMITER))
          .map((n) => [n, dst + n.slice(src.length)]);
  for (const [, target] of moves) {
    if (lookup(list, target)) throw new AlreadyExists(`mailbox "${target}" already exists`);
  }
  const out = new Map(list);
  for (const [old, target] of moves) {
    const entry = lookup(list, old)!;
    const prevTarget = list.get(target);
    out.set(target, {
      ...entry,
      uidvalidity: Math.max(entry.uidvalidity, (prevTarget?.uidvalidity ?? 0) + 1000),
      subscribed: prevTarget?.subscribed ?? entry.subscribed,
      ts: stamp.ts,
    });
    out.set(old, { id: null, uidvalidity: entry.uidvalidity, subscribed: entry.subscribed, ts: stamp.ts });
  }
  if (src === "INBOX") {
    const inbox = list.get("INBOX")!;
    out.set("INBOX", {
      id: stamp.newId(),
      uidvalidity: freshUidvalidity(inbox, stamp.nowMs),
      subscribed: inbox.subscribed,
      ts: stamp.ts,
    });
  }
  return out;
}

export function setSubscribed(
  list: MailboxList,
  name: string,
  subscribed: boolean,
  stamp: Stamp,
): MailboxList {
  const n = validateName(name);
  const prev = list.get(n);
  const out = new Map(list);
  out.set(n, { id: null, uidvalidity: 0, ...prev, subscribed, ts: stamp.ts });
  return out;
}

export function encodeMailboxList(list: MailboxList): Uint8Array {
  const obj = Object.fromEntries([...list.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return new TextEncoder().encode(JSON.stringify({ v: 1, mailboxes: obj }));
}

export function decodeMailboxList(bytes: Uint8Array): MailboxList {
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
    v: number;
    mailboxes: Record<string, MailboxEntry>;
  };
  if (parsed.v !== 1) throw new Invalid(`unknown mailbox list version ${parsed.v}`);
  return new Map(Object.entries(parsed.mailboxes));
}
