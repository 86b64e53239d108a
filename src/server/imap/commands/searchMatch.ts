/**
 * Whether one message matches a SEARCH key (RFC 3501 §6.4.4). Flags, UIDs, sequence numbers and
 * MODSEQ come from the index; dates, sizes and headers from sealed meta; BODY and TEXT decrypt the
 * text parts only when a cheaper key has not already decided. Strings match as case-insensitive
 * substrings of the decoded header or text.
 */
import type { MessageMeta } from "../../../mail/read/index.ts";
import { decodeHeaderText, decodedHeaderValue, decodedHeaderValues } from "../../../mime/index.ts";
import type { MailEntry } from "../../../mail/uidIndex.ts";
import { setHas } from "../session/messageSet.ts";
import { addressTexts } from "./searchAddress.ts";
import type { SearchKey } from "../parser/types.ts";

export interface MatchSubject {
  entry: MailEntry;
  seq: number;
  /** Highest sequence number and UID, for `*`. */
  maxSeq: number;
  maxUid: number;
  saved: number[];
  meta?: MessageMeta;
  /** Decoded text of every text part; called at most once per message. */
  bodyText: () => Promise<string>;
}

const DAY = 86_400_000;

export function keyNeedsMeta(key: SearchKey): boolean {
  switch (key.kind) {
    case "NOT":
      return keyNeedsMeta(key.key);
    case "OR":
      return keyNeedsMeta(key.left) || keyNeedsMeta(key.right);
    case "AND":
      return key.keys.some(keyNeedsMeta);
    case "BCC":
    case "CC":
    case "FROM":
    case "SUBJECT":
    case "TO":
    case "BODY":
    case "TEXT":
    case "HEADER":
    case "BEFORE":
    case "ON":
    case "SINCE":
    case "SENTBEFORE":
    case "SENTON":
    case "SENTSINCE":
    case "LARGER":
    case "SMALLER":
    case "YOUNGER":
    case "OLDER":
      return true;
    default:
      return false;
  }
}

export function keyUsesModseq(key: SearchKey): boolean {
  if (key.kind === "MODSEQ") return true;
  if (key.kind === "NOT") return keyUsesModseq(key.key);
  if (key.kind === "OR") return keyUsesModseq(key.left) || keyUsesModseq(key.right);
  if (key.kind === "AND") return key.keys.some(keyUsesModseq);
  return false;
}

/** Cheap keys first, so a body is decrypted only when the rest of an AND still holds. */
function cost(key: SearchKey): number {
  if (key.kind === "BODY" || key.kind === "TEXT") return 2;
  if (key.kind === "AND") return Math.max(0, ...key.keys.map(cost));
  if (key.kind === "OR") return Math.max(cost(key.left), cost(key.right));
  if (key.kind === "NOT") return cost(key.key);
  return keyNeedsMeta(key) ? 1 : 0;
}

function contains(haystack: string, needle: string): boolean {
  return haystack.toLowerCase().includes(needle.toLowerCase());
}

/** The day (UTC midnight) of a Date header, as written there, ignoring its time and zone. */
function sentDay(meta: MessageMeta): number {
  const raw = decodedHeaderValue(meta.header, "Date");
  const m = raw && /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(raw);
  if (m) {
    const year = Number(m[3]!.length === 2 ? (Number(m[3]) < 50 ? "20" : "19") + m[3] : m[3]);
    const ms = Date.parse(`${m[1]} ${m[2]} ${year} 00:00:00 GMT`);
    if (!Number.isNaN(ms)) return ms;
  }
  return dayOf(meta.internalDate);
}

function dayOf(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

export async function matches(key: SearchKey, s: MatchSubject): Promise<boolean> {
  const flags = s.entry.flags;
  const meta = s.meta;
  switch (key.kind) {
    case "ALL":
      return true;
    case "ANSWERED":
    case "DELETED":
    case "DRAFT":
    case "FLAGGED":
    case "SEEN":
      return flags.includes("\\" + key.kind[0] + key.kind.slice(1).toLowerCase());
    case "UNANSWERED":
    case "UNDELETED":
    case "UNDRAFT":
    case "UNFLAGGED":
    case "UNSEEN":
      return !flags.includes("\\" + key.kind[2] + key.kind.slice(3).toLowerCase());
    case "NEW":
    case "RECENT":
    case "OLD":
    case "EMAILID":
    case "THREADID":
      // searchRecent.ts (session-dependent) and searchObjectId.ts rewrite them to UID sets first.
      throw new Error(`search key ${key.kind} reached the matcher unbound`);
    case "KEYWORD":
      return flags.some((f) => f.toLowerCase() === key.flag.toLowerCase());
    case "UNKEYWORD":
      return !flags.some((f) => f.toLowerCase() === key.flag.toLowerCase());
    case "UID":
      return setHas(key.set, s.entry.uid, s.maxUid, s.saved);
    case "SEQ":
      return "saved" in key.set ? s.saved.includes(s.entry.uid) : setHas(key.set, s.seq, s.maxSeq, s.saved);
    case "MODSEQ":
      return s.entry.modseq >= key.modseq;
    case "YOUNGER":
      return meta!.internalDate >= Date.now() - key.seconds * 1000;
    case "OLDER":
      return meta!.internalDate < Date.now() - key.seconds * 1000;
    case "LARGER":
      return meta!.size > key.size;
    case "SMALLER":
      return meta!.size < key.size;
    case "BEFORE":
      return dayOf(meta!.internalDate) < key.date;
    case "ON":
      return dayOf(meta!.internalDate) === key.date;
    case "SINCE":
      return dayOf(meta!.internalDate) >= key.date;
    case "SENTBEFORE":
      return sentDay(meta!) < key.date;
    case "SENTON":
      return sentDay(meta!) === key.date;
    case "SENTSINCE":
      return sentDay(meta!) >= key.date;
    case "BCC":
    case "CC":
    case "FROM":
    case "SUBJECT":
    case "TO":
      if (headerContains(meta!, key.kind, key.value)) return true;
      return key.kind !== "SUBJECT" && addressTexts(meta!, key.kind).some((t) => contains(t, key.value));
    case "HEADER":
      return headerContains(meta!, key.field, key.value);
    case "BODY":
      return contains(await s.bodyText(), key.value);
    case "TEXT":
      return contains(decodeHeaderText(meta!.header), key.value) || contains(await s.bodyText(), key.value);
    case "NOT":
      return !(await matches(key.key, s));
    case "OR":
      return (await matches(key.left, s)) || (await matches(key.right, s));
    case "AND": {
      for (const k of [...key.keys].sort((a, b) => cost(a) - cost(b)))
        if (!(await matches(k, s))) return false;
      return true;
    }
  }
}

function headerContains(meta: MessageMeta, field: string, value: string): boolean {
  const values = decodedHeaderValues(meta.header, field);
  // HEADER field "" matches every message that has the field (RFC 3501 §6.4.4).
  if (value === "") return values.length > 0;
  return values.some((v) => contains(v, value));
}
