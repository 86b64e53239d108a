/** A mailbox argument: astring, modified UTF-7 decoded, INBOX in any case made "INBOX". */
import type { Cursor } from "./cursor.ts";
import { decodeMailboxName } from "./mutf7.ts";
import { ParseError } from "./parseError.ts";

export function normaliseInbox(name: string): string {
  if (name.toUpperCase() === "INBOX") return "INBOX";
  if (name.toUpperCase().startsWith("INBOX/")) return "INBOX" + name.slice(5);
  return name;
}

export function mailbox(c: Cursor): string {
  return normaliseInbox(decodeMailboxName(c.astring("a mailbox name")));
}

/**
 * The mailbox of SELECT, EXAMINE and STATUS: a name that is not valid modified UTF-7 names no
 * mailbox that could exist, so it is `NO [NONEXISTENT]`, not a syntax error (BAD).
 */
export function existingMailbox(c: Cursor): string {
  const raw = c.astring("a mailbox name");
  try {
    return normaliseInbox(decodeMailboxName(raw));
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    throw new ParseError(`mailbox "${raw}" does not exist (${err.message})`, "NO", "NONEXISTENT");
  }
}

export function listPattern(c: Cursor): string {
  return decodeMailboxName(c.listMailbox());
}
