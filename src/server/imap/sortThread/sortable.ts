/**
 * What SORT and THREAD (RFC 5256) compare of one message, read once from its sealed meta: dates,
 * size, the addr-mailbox of the first From/To/Cc, the base subject, and the ids THREAD=REFERENCES
 * links by.
 */
import type { MessageMeta } from "../../../mail/read/index.ts";
import { decodeHeaderText, decodedHeaderValue, type EnvelopeAddress } from "../../../mime/index.ts";
import { baseSubject, type BaseSubject } from "./baseSubject.ts";

export interface Sortable {
  seq: number;
  uid: number;
  arrival: number;
  /** The Date header in UTC ms; the internal date when it is missing or unreadable (RFC 5256 §3). */
  sent: number;
  size: number;
  from: string;
  to: string;
  cc: string;
  subject: BaseSubject;
  messageId: string | null;
  /** References, or else the first id of In-Reply-To (RFC 5256 §4 REFERENCES step 1). */
  references: string[];
}

export function sortable(seq: number, uid: number, meta: MessageMeta): Sortable {
  const env = meta.index.envelope;
  const date = env.date === null ? NaN : Date.parse(decodeHeaderText(env.date).replace(/\([^)]*\)/g, ""));
  const references = messageIds(decodedHeaderValue(meta.header, "References") ?? "");
  const inReplyTo = messageIds(decodedHeaderValue(meta.header, "In-Reply-To") ?? "");
  return {
    seq,
    uid,
    arrival: meta.internalDate,
    sent: Number.isNaN(date) ? meta.internalDate : date,
    size: meta.size,
    from: firstMailbox(env.from),
    to: firstMailbox(env.to),
    cc: firstMailbox(env.cc),
    subject: baseSubject(env.subject === null ? "" : decodeHeaderText(env.subject)),
    messageId: messageIds(env.messageId ?? "")[0] ?? null,
    references: references.length > 0 ? references : inReplyTo.slice(0, 1),
  };
}

/** The addr-mailbox of the first address, compared with i;ascii-casemap (RFC 5256 §3). */
function firstMailbox(list: EnvelopeAddress[] | null): string {
  const mailbox = list?.find((a) => a.mailbox !== null && a.domain !== null)?.mailbox ?? "";
  return decodeHeaderText(mailbox).replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** The `<...>` message ids of a header, in order. */
function messageIds(value: string): string[] {
  return [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
}
