/**
 * ENVELOPE (RFC 3501 §7.4.2) read from a header block. Values stay raw (encoded words included), as
 * IMAP requires. When a field repeats, Dovecot 2.3 keeps the last Date, Subject, In-Reply-To and
 * Message-ID, and lists the addresses of every From (To, Cc...) one after the other; so do we.
 */
import { parseAddressList } from "./addressList.ts";
import { withoutNul, type HeaderField } from "./headerBlock.ts";
import type { Envelope, EnvelopeAddress } from "./types.ts";

export function readEnvelope(fields: readonly HeaderField[]): Envelope {
  const env: Envelope = {
    date: null,
    subject: null,
    from: null,
    sender: null,
    replyTo: null,
    to: null,
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId: null,
  };
  const addresses = (list: EnvelopeAddress[] | null, value: string): EnvelopeAddress[] | null => {
    const parsed = parseAddressList(value);
    if (list === null) return parsed.length > 0 ? parsed : null;
    return list.concat(parsed);
  };
  for (const field of fields) {
    const value = field.value;
    switch (field.name.toLowerCase()) {
      case "date":
        env.date = withoutNul(value);
        break;
      case "subject":
        env.subject = withoutNul(value);
        break;
      case "in-reply-to":
        env.inReplyTo = withoutNul(value);
        break;
      case "message-id":
        env.messageId = withoutNul(value);
        break;
      case "from":
        env.from = addresses(env.from, value);
        break;
      case "sender":
        env.sender = addresses(env.sender, value);
        break;
      case "reply-to":
        env.replyTo = addresses(env.replyTo, value);
        break;
      case "to":
        env.to = addresses(env.to, value);
        break;
      case "cc":
        env.cc = addresses(env.cc, value);
        break;
      case "bcc":
        env.bcc = addresses(env.bcc, value);
        break;
    }
  }
  return env;
}
