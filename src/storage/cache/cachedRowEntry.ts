/**
 * A remote row as the cache keeps it: the remote's values and its causality token, verbatim. The
 * token matters: the mail layer deletes a row with the token its read returned, so a read served
 * from the cache must hand back the remote's token, not the cache store's own.
 *
 *   u8 version (1) | u8 flags (1 = hasTombstone) | u32 token length | token (UTF-8)
 *   | u32 value count | (u32 length | bytes)*
 */
import type { RowEntry } from "../types.ts";

const VERSION = 1;

export function encodeCachedRow(entry: RowEntry): Uint8Array {
  const token = Buffer.from(entry.token, "utf8");
  let size = 2 + 4 + token.length + 4;
  for (const v of entry.values) size += 4 + v.length;
  const out = Buffer.alloc(size);
  out[0] = VERSION;
  out[1] = entry.hasTombstone ? 1 : 0;
  let at = 2;
  out.writeUInt32BE(token.length, at);
  at += 4;
  token.copy(out, at);
  at += token.length;
  out.writeUInt32BE(entry.values.length, at);
  at += 4;
  for (const v of entry.values) {
    out.writeUInt32BE(v.length, at);
    at += 4;
    out.set(v, at);
    at += v.length;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** undefined when the bytes are not a cached row of this version: the caller treats it as a miss. */
export function decodeCachedRow(sk: string, bytes: Uint8Array): RowEntry | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < 10 || buf[0] !== VERSION || buf[1]! > 1) return undefined;
  let at = 2;
  const tokenLength = buf.readUInt32BE(at);
  at += 4;
  if (at + tokenLength + 4 > buf.length) return undefined;
  const token = buf.toString("utf8", at, at + tokenLength);
  at += tokenLength;
  const count = buf.readUInt32BE(at);
  at += 4;
  const values: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 4 > buf.length) return undefined;
    const length = buf.readUInt32BE(at);
    at += 4;
    if (at + length > buf.length) return undefined;
    values.push(Uint8Array.from(buf.subarray(at, at + length)));
    at += length;
  }
  if (at !== buf.length) return undefined;
  return { sk, values, hasTombstone: buf[1] === 1, token };
}
