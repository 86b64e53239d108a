/**
 * Looks for words in stored bytes in every encoding a careless implementation could leave them in:
 * plain UTF-8, base64 (at each of the three byte alignments), quoted-printable, UTF-16LE and
 * UTF-16BE, and each of those inside raw DEFLATE starting at one of the first bytes (a compressed
 * object left unsealed: the shared list segments are compressed before sealing). Used by the
 * "nothing readable at rest" tests on every backend.
 */
import { inflateRawSync } from "node:zlib";

/** Offsets at which a DEFLATE stream is tried (a version byte or a small header before it). */
const DEFLATE_OFFSETS = 8;

/** The byte patterns under which `word` could appear. */
export function encodingsOf(word: string): { encoding: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(word, "utf8");
  const out: { encoding: string; bytes: Buffer }[] = [
    { encoding: "utf-8", bytes: utf8 },
    { encoding: "utf-16le", bytes: Buffer.from(word, "utf16le") },
    { encoding: "utf-16be", bytes: Buffer.from(word, "utf16le").swap16() },
  ];
  // Base64 of the word at each alignment, without the edge characters that depend on neighbours.
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), utf8]).toString("base64");
    const start = Math.ceil((shift * 4) / 3) + (shift ? 1 : 0);
    const end = Math.floor(((shift + utf8.length) * 4) / 3) - 1;
    if (end - start >= 6)
      out.push({ encoding: `base64+${shift}`, bytes: Buffer.from(b64.slice(start, end)) });
  }
  const qp = [...utf8]
    .map((b) =>
      b >= 33 && b <= 126 && b !== 61
        ? String.fromCharCode(b)
        : `=${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
  if (qp !== word) out.push({ encoding: "quoted-printable", bytes: Buffer.from(qp) });
  return out;
}

export interface Finding {
  where: string;
  word: string;
  encoding: string;
}

/** Every (word, encoding) found in `bytes`, case-insensitively for the ASCII encodings. */
export function scanBytes(where: string, bytes: Uint8Array, words: string[]): Finding[] {
  const found = scanEncodings(where, bytes, words);
  for (let at = 0; at < Math.min(DEFLATE_OFFSETS, bytes.length); at++) {
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(bytes.subarray(at), { maxOutputLength: 256 * 1024 * 1024 });
    } catch {
      continue; // not a DEFLATE stream from here (ciphertext never is)
    }
    for (const f of scanEncodings(where, inflated, words))
      found.push({ ...f, encoding: `deflate@${at}+${f.encoding}` });
  }
  return found;
}

function scanEncodings(where: string, bytes: Uint8Array, words: string[]): Finding[] {
  const hay = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lower = Buffer.from(hay.toString("latin1").toLowerCase(), "latin1");
  const found: Finding[] = [];
  for (const word of words) {
    for (const { encoding, bytes: needle } of encodingsOf(word)) {
      const caseless = encoding === "utf-8" || encoding === "quoted-printable";
      const hit = caseless
        ? lower.includes(Buffer.from(needle.toString("latin1").toLowerCase(), "latin1"))
        : hay.includes(needle);
      if (hit) found.push({ where, word, encoding });
    }
  }
  return found;
}
