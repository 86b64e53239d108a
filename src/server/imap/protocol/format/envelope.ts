/**
 * FETCH ENVELOPE (RFC 3501 §7.4.2) on the wire, byte for byte as Dovecot 2.3 writes it. Sender and
 * Reply-To default to From when absent; groups are (NIL NIL name NIL) ... (NIL NIL NIL NIL).
 */
import type { Envelope, EnvelopeAddress } from "../../../../mime/types.ts";
import { nstring, nstringNolf, stringForHumans } from "./imapString.ts";

function addresses(list: EnvelopeAddress[] | null): string {
  if (list === null || list.length === 0) return "NIL";
  let out = "(";
  for (const a of list) {
    out += `(${a.name === null ? "NIL" : stringForHumans(a.name)} ${nstring(a.route)} ${nstring(a.mailbox)} ${nstring(a.domain)})`;
  }
  return out + ")";
}

/** The envelope's fields inside its parentheses, as a byte string. */
export function envelopeFields(env: Envelope | null): string {
  if (env === null) return "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL";
  return [
    nstringNolf(env.date),
    env.subject === null ? "NIL" : stringForHumans(env.subject),
    addresses(env.from),
    addresses(env.sender ?? env.from),
    addresses(env.replyTo ?? env.from),
    addresses(env.to),
    addresses(env.cc),
    addresses(env.bcc),
    nstringNolf(env.inReplyTo),
    nstringNolf(env.messageId),
  ].join(" ");
}

/** `(date subject from ...)`: the value of FETCH ENVELOPE, as a byte string. */
export function envelopeText(env: Envelope | null): string {
  return `(${envelopeFields(env)})`;
}

/** The value of FETCH ENVELOPE as bytes, ready for the wire. */
export function envelopeBytes(env: Envelope | null): Buffer {
  return Buffer.from(envelopeText(env), "latin1");
}
