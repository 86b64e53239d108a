/**
 * Turning raw header values and part bodies into text for SEARCH (RFC 3501 §6.4.4 matches on
 * decoded text): header folding undone, RFC 2047 encoded words decoded (libmime), transfer
 * encodings undone (libqp, libbase64), charsets converted (iconv-lite; libmime's converter for the
 * ones iconv-lite lacks, such as ISO-2022-JP). Unknown charsets read as UTF-8, never throw.
 */
import { createRequire } from "node:module";
import type Libmime from "libmime";
import type * as LibmimeCharset from "libmime/lib/charset.js";
import * as libqp from "libqp";
import * as libbase64 from "libbase64";
import type Iconv from "iconv-lite";
import { parseHeaderBlock } from "./headerBlock.ts";
import type { ByteString, MessageIndex, MimePart } from "./types.ts";

/**
 * libmime, loaded at its first use: loading it builds iconv-lite's GBK tables and loads
 * encoding-japanese, ~65 ms of CPU at every start of a process that reads mail (every command but
 * a few), most of which never meet an encoded word or a charset iconv-lite lacks. Its CommonJS
 * build (the same code as the ES module one), so that the functions here stay synchronous.
 */
const requireHere = createRequire(import.meta.url);

/**
 * iconv-lite is CommonJS: through `require` it loads in ~6 ms of CPU, through `import` (Node 20's ES
 * module loader wrapping it) in ~12, at every start of a process that reads mail.
 */
const iconv = requireHere("iconv-lite") as typeof Iconv;
let loaded: { words: typeof Libmime; charset: typeof LibmimeCharset } | undefined;
function libmime(): { words: typeof Libmime; charset: typeof LibmimeCharset } {
  loaded ??= {
    words: requireHere("libmime") as typeof Libmime,
    charset: requireHere("libmime/lib/charset.js") as typeof LibmimeCharset,
  };
  return loaded;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Raw 8-bit header text is taken as UTF-8 (RFC 6532) when it is valid UTF-8, else as latin-1. */
function rawToText(raw: ByteString): string {
  if (!/[\x80-\xff]/.test(raw)) return raw;
  try {
    return strictUtf8.decode(Buffer.from(raw, "latin1"));
  } catch {
    return raw;
  }
}

/** A raw header value as text: unfolded (RFC 5322 §2.2.3), encoded words decoded. */
export function decodeHeaderText(raw: ByteString): string {
  const unfolded = raw.replace(/\r?\n(?=[ \t])/g, "").replace(/\r?\n/g, " ");
  const text = rawToText(unfolded);
  // decodeWords changes only encoded words (RFC 2047 §2: "=?charset?encoding?text?=") and its own
  // joining marker, which holds NULs.
  if (!text.includes("=?") && !text.includes("\0")) return text;
  try {
    return libmime().words.decodeWords(text);
  } catch {
    return text;
  }
}

/** Every value of header `name` (any case) in a header block, decoded. */
export function decodedHeaderValues(headerBlock: ByteString, name: string): string[] {
  const wanted = name.toLowerCase();
  return parseHeaderBlock(headerBlock)
    .fields.filter((f) => f.name.toLowerCase() === wanted)
    .map((f) => decodeHeaderText(f.value));
}

/** The first value of header `name`, decoded, or null when the block has none. */
export function decodedHeaderValue(headerBlock: ByteString, name: string): string | null {
  return decodedHeaderValues(headerBlock, name)[0] ?? null;
}

/** Bytes in a charset as text; an unknown charset is read as UTF-8. */
export function decodeCharset(bytes: Uint8Array, charset: string | null): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = charset === null || charset === "" ? "us-ascii" : charset;
  if (iconv.encodingExists(name)) return iconv.decode(buf, name);
  return libmime().charset.decode(buf, name);
}

/** Undoes a Content-Transfer-Encoding (RFC 2045 §6); 7bit, 8bit, binary and unknown ones stay. */
export function decodeTransferEncoding(bytes: Uint8Array, encoding: string | null): Uint8Array {
  switch ((encoding ?? "").toLowerCase()) {
    case "base64":
      return libbase64.decode(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1"),
      );
    case "quoted-printable":
      return libqp.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    default:
      return bytes;
  }
}

/** The charset parameter of a part, or null (RFC 2046 §4.1.2: US-ASCII then). */
export function partCharset(part: MimePart): string | null {
  const p = part.content.params.find((x) => x.name.toLowerCase() === "charset");
  return p ? p.value : null;
}

/** The text of a text/* part from its raw body bytes (BODY[section]). */
export function decodePartText(part: MimePart, body: Uint8Array): string {
  const decoded = decodeTransferEncoding(body, part.content.encoding);
  // RFC 2046 §4.1.2 says US-ASCII by default, but 8-bit bodies without a charset are mostly UTF-8
  const charset = partCharset(part);
  return decodeCharset(decoded, charset === null ? "utf-8" : charset);
}

/** Every text/* part of a message, embedded messages included, in part order. */
export function listTextParts(index: MessageIndex): MimePart[] {
  const out: MimePart[] = [];
  const walk = (part: MimePart) => {
    if (part.kind === "text") out.push(part);
    for (const child of part.children) walk(child);
  };
  walk(index.root);
  return out;
}

/**
 * The decoded text of every text/* part, for body search. `readBody(start, end)` returns the stored
 * bytes [start, end) of the message (a ranged read of the sealed blob); one part is decoded at a time.
 */
export async function* textParts(
  index: MessageIndex,
  readBody: (start: number, end: number) => Promise<Uint8Array>,
): AsyncIterable<{ part: MimePart; text: string }> {
  for (const part of listTextParts(index)) {
    const body = await readBody(part.bodyStart, part.bodyEnd);
    yield { part, text: decodePartText(part, body) };
  }
}
