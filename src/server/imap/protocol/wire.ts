/**
 * Pieces of the IMAP response grammar (RFC 3501 §9): how a value goes on the wire. A response is
 * built as a list of parts; strings that cannot be quoted become literals, and bodies are streamed
 * literals so a 50 MB message never sits whole in memory.
 *
 * Strings here are the server's own text (tags, mailbox names, ID values), quoted by the grammar's
 * rule alone. Strings taken from a message (ENVELOPE, BODYSTRUCTURE) follow Dovecot's stricter
 * choices instead: format/imapString.ts.
 */

/** A literal whose bytes arrive as chunks; `size` must equal the sum of the chunk lengths. */
export interface StreamedLiteral {
  kind: "literal";
  size: number;
  chunks: () => AsyncIterable<Uint8Array>;
}

/** A literal already in memory (header fields from meta): written without an async iteration. */
export interface BytesLiteral {
  kind: "bytesLiteral";
  bytes: Uint8Array;
  /** RFC 3516 literal8 (`~{n}`): the bytes may hold NUL (FETCH BINARY). */
  literal8?: boolean;
}

/**
 * A literal of bytes held as a latin1 string, one character per byte (a header block cut from
 * meta): written straight into the reply's chunk, with no Buffer made per message on the way.
 */
export interface Latin1Literal {
  kind: "latin1Literal";
  text: string;
}

export type WirePart = string | Uint8Array | StreamedLiteral | BytesLiteral | Latin1Literal;

const QUOTABLE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

/**
 * A string of the server's own (UTF-16 text): quoted when RFC 3501 allows it (7-bit, no NUL, CR or
 * LF, up to 1024 characters; any number of `"` and `\` escaped), else a literal of its UTF-8 bytes.
 */
export function quotedOrLiteral(s: string): string {
  if (s.length <= 1024 && QUOTABLE.test(s)) return `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`;
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

const QUOTABLE_UTF8 = /^[^\x00\r\n]*$/u;

/**
 * As quotedOrLiteral, for a client that accepts UTF-8 in quoted strings (RFC 6855 §3, RFC 9051
 * QUOTED-CHAR): only NUL, CR and LF, or more than 1024 bytes, make a literal.
 */
export function quotedUtf8OrLiteral(s: string): string {
  if (Buffer.byteLength(s) <= 1024 && QUOTABLE_UTF8.test(s))
    return `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`;
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

/** Compact UID set text for responses ("1:3,7,9:10") from ascending numbers. */
export function compactSet(sortedNumbers: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < sortedNumbers.length) {
    const first = sortedNumbers[i]!;
    let last = first;
    while (i + 1 < sortedNumbers.length && sortedNumbers[i + 1] === last + 1) last = sortedNumbers[++i]!;
    parts.push(first === last ? `${first}` : `${first}:${last}`);
    i++;
  }
  return parts.join(",");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", in UTC. */
export function imapDateTime(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `"${String(d.getUTCDate()).padStart(2, " ")}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p2(
    d.getUTCHours(),
  )}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000"`;
}
