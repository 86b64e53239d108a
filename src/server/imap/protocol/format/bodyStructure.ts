/**
 * FETCH BODYSTRUCTURE and BODY (RFC 3501 §7.4.2) on the wire, byte for byte as Dovecot 2.3 writes
 * them: type, subtype and parameters keep the case of the message; a part without Content-Type is
 * "text" "plain"; text parts always carry a charset ("us-ascii" when the message names none); the
 * encoding defaults to "7bit"; a multipart without parts shows one empty text/plain part; MD5 is
 * whatever Content-MD5 says. BODY is the same without extension data.
 */
import type { MimeParam, MimePart } from "../../../../mime/types.ts";
import { envelopeFields } from "./envelope.ts";
import { nstringNolf, string } from "./imapString.ts";

const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_BODYSTRUCTURE = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

function params(list: readonly MimeParam[], defaultCharset: boolean): string {
  if (!defaultCharset && list.length === 0) return "NIL";
  const items = list.map((p) => `${string(p.name)} ${string(p.value)}`);
  if (defaultCharset && !list.some((p) => p.name.toLowerCase() === "charset"))
    items.push('"charset" "us-ascii"');
  return `(${items.join(" ")})`;
}

function commonExtension(part: MimePart): string {
  const c = part.content;
  const disposition =
    c.disposition === null ? "NIL" : `(${string(c.disposition)} ${params(c.dispositionParams, false)})`;
  const language = c.language === null ? "NIL" : `(${c.language.map(string).join(" ")})`;
  return ` ${disposition} ${language} ${nstringNolf(c.location)}`;
}

function multipart(part: MimePart, extended: boolean): string {
  const children =
    part.children.length === 0
      ? extended
        ? EMPTY_BODYSTRUCTURE
        : EMPTY_BODY
      : part.children.map((c) => `(${write(c, extended)})`).join("");
  let out = `${children} ${string(part.content.subtype ?? "")}`;
  if (extended) out += ` ${params(part.content.params, false)}${commonExtension(part)}`;
  return out;
}

function single(part: MimePart, extended: boolean): string {
  const c = part.content;
  let out: string;
  let text: boolean;
  if (part.kind === "message") {
    out = '"message" "rfc822"';
    text = false;
  } else if (c.type === null) {
    out = '"text" "plain"';
    text = true;
  } else {
    text = c.type.toLowerCase() === "text";
    out = `${string(c.type)} ${string(c.subtype ?? "")}`;
  }
  out += ` ${params(c.params, text)} ${nstringNolf(c.id)} ${nstringNolf(c.description)}`;
  out += ` ${c.encoding === null ? '"7bit"' : string(c.encoding)} ${part.size}`;
  if (text) {
    out += ` ${part.lines}`;
  } else if (part.kind === "message") {
    const message = part.children[0]!;
    out += ` (${envelopeFields(message.envelope)}) (${write(message, extended)}) ${part.lines}`;
  }
  if (extended) out += ` ${nstringNolf(c.md5)}${commonExtension(part)}`;
  return out;
}

function write(part: MimePart, extended: boolean): string {
  return part.kind === "multipart" ? multipart(part, extended) : single(part, extended);
}

/** The value of FETCH BODYSTRUCTURE, as a byte string. */
export function bodyStructureText(root: MimePart): string {
  return `(${write(root, true)})`;
}

/** The value of FETCH BODY (no extension data), as a byte string. */
export function bodyText(root: MimePart): string {
  return `(${write(root, false)})`;
}

export function bodyStructureBytes(root: MimePart): Buffer {
  return Buffer.from(bodyStructureText(root), "latin1");
}

export function bodyBytes(root: MimePart): Buffer {
  return Buffer.from(bodyText(root), "latin1");
}
