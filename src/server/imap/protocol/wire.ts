/**
 * Pieces of the IMAP response grammar (RFC 3501 §9): how a value goes on the wire. A response is
 * built as a list of parts; strings that cannot be quoted become literals, and bodies are streamed
 * literals so a 50 MB message never sits whole in memory.
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
}

export type WirePart = string | Uint8Array | StreamedLiteral | BytesLiteral;

const QUOTABLE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

/** A string as a quoted string when RFC 3501 allows it (7-bit, no CR/LF, not too long), else a literal. */
export function quoted(s: string): string {
  if (s.length <= 1024 && QUOTABLE.test(s)) return `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`;
  return literalText(s);
}

export function literalText(s: string): string {
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

/** A byte string as a literal header plus its bytes. */
export function literalBytes(bytes: Uint8Array): [string, Uint8Array] {
  return [`{${bytes.length}}\r\n`, bytes];
}

export function nstring(s: string | null | undefined): string {
  return s === null || s === undefined ? "NIL" : quoted(s);
}

const ATOM_SPECIALS = /[(){ %*"\\\]\x00-\x1f\x7f-\uffff]/;

/** An astring: an atom when it is one, else quoted/literal. */
export function astring(s: string): string {
  return s.length > 0 && !ATOM_SPECIALS.test(s) ? s : quoted(s);
}

export function list(items: string[]): string {
  return `(${items.join(" ")})`;
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
