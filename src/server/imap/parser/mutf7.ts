/**
 * Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable ASCII stands for itself, "&" is
 * "&-", and any other run of characters is "&" + modified base64 (',' for '/', no padding) of its
 * UTF-16BE code units + "-". Names are kept as Unicode inside; this converts at the wire.
 */
import { ParseError } from "./parseError.ts";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

export function encodeMailboxName(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((u, i) => bytes.writeUInt16BE(u, i * 2));
    out += "&" + toModifiedBase64(bytes) + "-";
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += code === 0x26 ? "&-" : name[i];
    } else {
      pending.push(code);
    }
  }
  flush();
  return out;
}

/**
 * Decodes a name from the wire; refuses what is not valid modified UTF-7 (RFC 3501 §5.1.3), and
 * what is valid but not the one canonical spelling (ASCII inside base64, two adjacent base64
 * runs, non-zero padding bits), so that every name has exactly one wire form.
 * Names holding 8-bit bytes are taken as UTF-8 as they are: some clients send UTF-8 unencoded.
 */
export function decodeMailboxName(wire: string): string {
  if (/[^\x00-\x7f]/.test(wire)) return wire;
  const invalid = (why: string) =>
    new ParseError(`mailbox name "${wire}" is not valid modified UTF-7: ${why}`);
  let out = "";
  for (let i = 0; i < wire.length; i++) {
    const c = wire[i]!;
    if (c !== "&") {
      out += c;
      continue;
    }
    const end = wire.indexOf("-", i + 1);
    if (end < 0) throw invalid("an &-sequence is not closed with -");
    const run = wire.slice(i + 1, end);
    i = end;
    if (run === "") {
      out += "&";
      continue;
    }
    if ([...run].some((ch) => !B64.includes(ch))) throw invalid("a character outside modified base64");
    const bytes = Buffer.from(run.replace(/,/g, "/"), "base64");
    if (bytes.length % 2 !== 0 || toModifiedBase64(bytes) !== run) throw invalid("a cut base64 run");
    let text = "";
    for (let j = 0; j < bytes.length; j += 2) text += String.fromCharCode(bytes.readUInt16BE(j));
    if (/[\x20-\x7e]/.test(text)) throw invalid("printable ASCII must not be base64-encoded");
    if (!isWellFormedUtf16(text)) throw invalid("a broken UTF-16 surrogate pair");
    out += text;
  }
  if (encodeMailboxName(out) !== wire) throw invalid("not the canonical spelling (adjacent base64 runs?)");
  return out;
}

function toModifiedBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "").replace(/\//g, ",");
}

function isWellFormedUtf16(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u >= 0xdc00 && u <= 0xdfff) return false;
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}
