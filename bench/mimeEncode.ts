/**
 * The few encoders the corpus needs, written for generation speed and exact output: RFC 2047
 * encoded words, RFC 2045 quoted-printable and base64 lines, and RFC 5322 dates.
 */

const CRLF = "\r\n";

/** Splits text into pieces whose UTF-8 (or Latin-1) size stays under `maxBytes`, on code points. */
function pieces(text: string, maxBytes: number, charset: "utf-8" | "latin1"): string[] {
  const out: string[] = [];
  let current = "";
  let size = 0;
  for (const ch of text) {
    const n = charset === "latin1" ? 1 : Buffer.byteLength(ch);
    if (size + n > maxBytes && current) {
      out.push(current);
      current = "";
      size = 0;
    }
    current += ch;
    size += n;
  }
  if (current) out.push(current);
  return out;
}

/** RFC 2047 B-encoding in UTF-8; encoded words folded onto continuation lines. */
export function encodedWordB(text: string): string {
  return pieces(text, 42, "utf-8")
    .map((p) => `=?UTF-8?B?${Buffer.from(p, "utf8").toString("base64")}?=`)
    .join(CRLF + " ");
}

/** RFC 2047 Q-encoding in ISO-8859-1 (every character must exist in Latin-1). */
export function encodedWordQLatin1(text: string): string {
  return pieces(text, 20, "latin1")
    .map((p) => {
      let q = "";
      for (const byte of Buffer.from(p, "latin1")) {
        if (byte === 0x20) q += "_";
        else if (
          (byte >= 0x30 && byte <= 0x39) ||
          (byte >= 0x41 && byte <= 0x5a) ||
          (byte >= 0x61 && byte <= 0x7a)
        )
          q += String.fromCharCode(byte);
        else q += "=" + byte.toString(16).toUpperCase().padStart(2, "0");
      }
      return `=?ISO-8859-1?Q?${q}?=`;
    })
    .join(CRLF + " ");
}

export const isAscii = (text: string) => /^[\x20-\x7e]*$/.test(text);

/** Quoted-printable (RFC 2045 §6.7) of already-charset-encoded bytes, lines ending in CRLF. */
export function quotedPrintable(bytes: Buffer): string {
  let out = "";
  let line = "";
  const flush = (soft: boolean) => {
    out += line + (soft ? "=" : "") + CRLF;
    line = "";
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d && bytes[i + 1] === 0x0a) {
      // Trailing white space before a hard break must be encoded (§6.7 rule 3).
      const last = line.charCodeAt(line.length - 1);
      if (last === 0x20 || last === 0x09) line = line.slice(0, -1) + (last === 0x20 ? "=20" : "=09");
      flush(false);
      i++;
      continue;
    }
    const token =
      (b >= 33 && b <= 126 && b !== 61) || b === 0x20 || b === 0x09
        ? String.fromCharCode(b)
        : "=" + b.toString(16).toUpperCase().padStart(2, "0");
    if (line.length + token.length > 75) flush(true);
    line += token;
  }
  if (line) flush(false);
  return out;
}

/** Base64 in 76-character lines, each ending in CRLF. */
export function base64Lines(bytes: Buffer): string {
  const b64 = bytes.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join(CRLF) + CRLF;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** RFC 5322 date-time of `epochSeconds` as seen in a zone `offsetMinutes` east of UTC. */
export function rfc5322Date(epochSeconds: number, offsetMinutes: number): string {
  const d = new Date((epochSeconds + offsetMinutes * 60) * 1000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return (
    `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
  );
}

/** IMAP date-time (RFC 3501 §9) for APPEND's INTERNALDATE, in UTC. */
export function imapDateTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return (
    `${String(d.getUTCDate()).padStart(2, " ")}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}
