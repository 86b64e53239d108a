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
    out += "&" + bytes.toString("base64").replace(/=+$/, "").replace(/\//g, ",") + "-";
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

/** Decodes a name from the wire; refuses what is not valid modified UTF-7 (RFC 3501 §5.1.3). */
export function decodeMailboxName(wire: string): string {
  // 8-bit names (UTF-8 sent as is, as some clients do) are taken as they are.
  if (/[^\x00-\x7f]/.test(wire)) return wire;
  let out = "";
  for (let i = 0; i < wire.length; i++) {
    const c = wire[i]!;
    if (c !== "&") {
      out += c;
      continue;
    }
    const end = wire.indexOf("-", i + 1);
    if (end < 0)
      throw new ParseError(`mailbox name "${wire}" has an unterminated &-sequence (modified UTF-7)`);
    const run = wire.slice(i + 1, end);
    i = end;
    if (run === "") {
      out += "&";
      continue;
    }
    if ([...run].some((ch) => !B64.includes(ch)) || run.length % 4 === 1) {
      throw new ParseError(`mailbox name "${wire}" is not valid modified UTF-7`);
    }
    const bytes = Buffer.from(run.replace(/,/g, "/"), "base64");
    if (bytes.length % 2 !== 0) throw new ParseError(`mailbox name "${wire}" is not valid modified UTF-7`);
    let text = "";
    for (let j = 0; j < bytes.length; j += 2) text += String.fromCharCode(bytes.readUInt16BE(j));
    // Printable ASCII must not be encoded (RFC 3501 §5.1.3): refuse, so every name has one spelling.
    if (/[\x20-\x7e]/.test(text)) throw new ParseError(`mailbox name "${wire}" encodes printable ASCII`);
    out += text;
  }
  return out;
}
