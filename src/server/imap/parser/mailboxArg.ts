/** A mailbox argument: astring, modified UTF-7 decoded (or UTF-8), INBOX in any case made "INBOX". */
import type { Cursor } from "./cursor.ts";
import { decodeMailboxName } from "./mutf7.ts";
import { ParseError } from "./parseError.ts";

export function normaliseInbox(name: string): string {
  if (name.toUpperCase() === "INBOX") return "INBOX";
  if (name.toUpperCase().startsWith("INBOX/")) return "INBOX" + name.slice(5);
  return name;
}

/**
 * A name off the wire: modified UTF-7, or UTF-8 as it is once the client enabled UTF-8 names (RFC
 * 6855 §3), in Unicode normal form C (RFC 5198); bytes that are not UTF-8 are refused.
 */
function decodeName(c: Cursor, raw: string): string {
  if (!c.utf8Names) return decodeMailboxName(raw);
  if (raw.includes("\uFFFD")) throw new ParseError(`mailbox name "${raw}" is not valid UTF-8`);
  return raw.normalize("NFC");
}

export function mailbox(c: Cursor): string {
  return normaliseInbox(decodeName(c, c.astring("a mailbox name")));
}

/**
 * The mailbox of SELECT, EXAMINE and STATUS: a name that is not valid modified UTF-7 names no
 * mailbox that could exist, so it is `NO [NONEXISTENT]`, not a syntax error (BAD).
 */
export function existingMailbox(c: Cursor): string {
  const raw = c.astring("a mailbox name");
  try {
    return normaliseInbox(decodeName(c, raw));
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    throw new ParseError(`mailbox "${raw}" does not exist (${err.message})`, "NO", "NONEXISTENT");
  }
}

export function listPattern(c: Cursor): string {
  return decodeName(c, c.listMailbox());
}
