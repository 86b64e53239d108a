/**
 * How Dovecot 2.3 writes strings in ENVELOPE and BODYSTRUCTURE (RFC 3501 §4.3, §9 nstring). We copy
 * its choices, not only the grammar, so that clients see byte-identical answers:
 * - a quoted string unless the value has 8-bit bytes, CR or LF, or more than 4 of `"` and `\`;
 *   then a literal;
 * - "nolf" values (dates, ids, descriptions, locations) lose their folding line breaks first;
 * - "for humans" values (subjects, display names) have whitespace runs squeezed to one space and
 *   trimmed; any change, an escape or 8-bit data makes them a literal.
 * Values and results are byte strings: one char per byte. The server's own text (tags, mailbox
 * names) goes through wire.ts's quotedOrLiteral instead, which follows the grammar alone.
 */
import type { ByteString } from "../../../../mime/types.ts";

const MAX_QUOTED_ESCAPES = 4;

function literal(s: ByteString): ByteString {
  return `{${s.length}}\r\n${s}`;
}

function quotedBytes(s: ByteString): ByteString {
  return `"${s.replace(/[\r\n]/g, "").replace(/["\\]/g, (c) => "\\" + c)}"`;
}

/** A C string ends at NUL: Dovecot's values never hold one past it. */
function cString(s: ByteString): ByteString {
  const nul = s.indexOf("\0");
  return nul < 0 ? s : s.slice(0, nul);
}

export function nstring(value: ByteString | null): ByteString {
  if (value === null) return "NIL";
  const s = cString(value);
  let escapes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      if (escapes++ >= MAX_QUOTED_ESCAPES) return literal(s);
    } else if (c === 0x0d || c === 0x0a || c >= 0x80) {
      return literal(s);
    }
  }
  return quotedBytes(s);
}

/** string (never NIL). */
export function string(value: ByteString): ByteString {
  return nstring(value);
}

/** Drops line breaks; one that is not followed by whitespace becomes a space. */
export function nstringNolf(value: ByteString | null): ByteString {
  if (value === null) return "NIL";
  const s = cString(value);
  if (!/[\r\n]/.test(s)) return nstring(s);
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\r" && c !== "\n") out += c;
    else {
      const next = s[i + 1];
      if (next !== undefined && next !== " " && next !== "\t" && next !== "\r" && next !== "\n") out += " ";
    }
  }
  return nstring(out);
}

const isLwsp = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** Subjects and display names: whitespace squeezed and trimmed, NUL shown as 0x80. */
export function stringForHumans(value: ByteString): ByteString {
  const s = value;
  let modify = false;
  let lastLwsp = true;
  let removed = 0;
  let whitespacePrefix = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) {
      lastLwsp = false;
      modify = true;
    } else if (isLwsp(c)) {
      if (c !== 0x20) modify = true;
      if (lastLwsp) {
        modify = true;
        removed++;
      }
      lastLwsp = true;
    } else {
      if (c === 0x22 || c === 0x5c || c >= 0x80) modify = true;
      lastLwsp = false;
    }
    if (!lastLwsp) whitespacePrefix = false;
  }
  if (lastLwsp && s.length > 0 && !whitespacePrefix) {
    modify = true;
    removed++;
  }
  if (!modify) return `"${s}"`;
  if (removed === s.length) return '""';
  let out = "";
  lastLwsp = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) {
      out += "\x80";
      lastLwsp = false;
    } else if (isLwsp(c)) {
      if (!lastLwsp) out += " ";
      lastLwsp = true;
    } else {
      out += s[i];
      lastLwsp = false;
    }
  }
  if (out.endsWith(" ")) out = out.slice(0, -1);
  return literal(out);
}
