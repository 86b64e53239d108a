/** A mailbox argument: astring, modified UTF-7 decoded, INBOX in any case made "INBOX". */
import type { Cursor } from "./cursor.ts";
import { decodeMailboxName } from "./mutf7.ts";

export function normaliseInbox(name: string): string {
  if (name.toUpperCase() === "INBOX") return "INBOX";
  if (name.toUpperCase().startsWith("INBOX/")) return "INBOX" + name.slice(5);
  return name;
}

export function mailbox(c: Cursor): string {
  return normaliseInbox(decodeMailboxName(c.astring("a mailbox name")));
}

export function listPattern(c: Cursor): string {
  return decodeMailboxName(c.listMailbox());
}
