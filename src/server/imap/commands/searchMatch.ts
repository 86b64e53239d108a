/**
 * Whether one message matches a SEARCH key (RFC 3501 §6.4.4). Flags, UIDs, sequence numbers and
 * MODSEQ come from the UID index; dates, sizes, headers and text from the message's SearchFacts
 * (the local search index, or sealed meta and body on a scan); BODY and TEXT read the text only
 * when a cheaper key has not already decided and the index's signature does not rule it out.
 * Strings match as case-insensitive substrings of the decoded header or text.
 */
import { dayOf, type AddressField, type SearchFacts } from "../../../mail/search/index.ts";
import type { MailEntry } from "../../../mail/uidIndex.ts";
import { setHas } from "../session/messageSet.ts";
import type { SearchKey } from "../parser/types.ts";

export interface MatchSubject {
  entry: MailEntry;
  seq: number;
  /** Highest sequence number and UID, for `*`. */
  maxSeq: number;
  maxUid: number;
  saved: number[];
  /** Present when the key needs more than the UID index (keyNeedsMeta). */
  facts?: SearchFacts;
}

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
    // A message without a recorded save date is judged by its internal date.
    case "SAVEDBEFORE":
    case "SAVEDON":
    case "SAVEDSINCE":
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

/** `haystack` is lower-cased already (SearchFacts). */
function contains(haystack: string, needle: string): boolean {
  return haystack.includes(needle.toLowerCase());
}

function headerTextContains(facts: SearchFacts, needle: string): boolean | Promise<boolean> {
  return facts.headerTextHas(needle.toLowerCase());
}

function bodyContains(facts: SearchFacts, needle: string): Promise<boolean> {
  return facts.bodyHas(needle.toLowerCase());
}

/**
 * A key that needs no meta (keyNeedsMeta false), judged without a promise per message: a SEARCH ALL
 * of 100,000 messages made ~150 MB of promises and frames through `matches`, and the scavenges in
 * its one long task moved those in flight to the old space (+27 MB until the next full collection).
 */
export function matchesWithoutMeta(key: SearchKey, s: MatchSubject): boolean {
  switch (key.kind) {
    case "NOT":
      return !matchesWithoutMeta(key.key, s);
    case "OR":
      return matchesWithoutMeta(key.left, s) || matchesWithoutMeta(key.right, s);
    case "AND":
      return key.keys.every((k) => matchesWithoutMeta(k, s));
    default: {
      const decided = indexKey(key, s);
      if (decided === undefined) throw new Error(`search key ${key.kind} needs the message's meta`);
      return decided;
    }
  }
}

/** A key the UID index alone decides; undefined for the others. */
function indexKey(key: SearchKey, s: MatchSubject): boolean | undefined {
  const flags = s.entry.flags;
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
    case "SAVEDATESUPPORTED":
      return true; // RFC 8514 §4: every mailbox here keeps save dates
    default:
      return undefined;
  }
}

export async function matches(key: SearchKey, s: MatchSubject): Promise<boolean> {
  const decided = indexKey(key, s);
  if (decided !== undefined) return decided;
  const facts = s.facts;
  switch (key.kind) {
    case "YOUNGER":
      return facts!.internalDate >= Date.now() - key.seconds * 1000;
    case "OLDER":
      return facts!.internalDate < Date.now() - key.seconds * 1000;
    case "LARGER":
      return facts!.size > key.size;
    case "SMALLER":
      return facts!.size < key.size;
    case "BEFORE":
      return dayOf(facts!.internalDate) < key.date;
    case "ON":
      return dayOf(facts!.internalDate) === key.date;
    case "SINCE":
      return dayOf(facts!.internalDate) >= key.date;
    case "SAVEDBEFORE":
      return savedDay(s) < key.date;
    case "SAVEDON":
      return savedDay(s) === key.date;
    case "SAVEDSINCE":
      return savedDay(s) >= key.date;
    case "SENTBEFORE":
      return facts!.sentDay() < key.date;
    case "SENTON":
      return facts!.sentDay() === key.date;
    case "SENTSINCE":
      return facts!.sentDay() >= key.date;
    case "BCC":
    case "CC":
    case "FROM":
    case "SUBJECT":
    case "TO":
      if (await headerContains(facts!, key.kind, key.value)) return true;
      if (key.kind === "SUBJECT") return false;
      return (await facts!.addressTexts(addressKey(key.kind))).some((t) => contains(t, key.value));
    case "HEADER":
      return headerContains(facts!, key.field, key.value);
    case "BODY":
      return bodyContains(facts!, key.value);
    case "TEXT":
      return (await headerTextContains(facts!, key.value)) || bodyContains(facts!, key.value);
    case "NOT":
      return !(await matches(key.key, s));
    case "OR":
      return (await matches(key.left, s)) || (await matches(key.right, s));
    case "AND": {
      for (const k of [...key.keys].sort((a, b) => cost(a) - cost(b)))
        if (!(await matches(k, s))) return false;
      return true;
    }
    default:
      throw new Error(`search key ${key.kind} was not judged`); // indexKey decided the others
  }
}

function addressKey(kind: "BCC" | "CC" | "FROM" | "TO"): AddressField {
  return kind === "BCC" ? "bcc" : kind === "CC" ? "cc" : kind === "FROM" ? "from" : "to";
}

async function headerContains(facts: SearchFacts, field: string, value: string): Promise<boolean> {
  const values = await facts.headerValues(field);
  // HEADER field "" matches every message that has the field (RFC 3501 §6.4.4).
  if (value === "") return values.length > 0;
  return values.some((v) => contains(v, value));
}

/**
 * The day of the message's save date (RFC 8514); for a message of a checkpoint written before save
 * dates were kept, that of its internal date, as §4 has it for a mailbox without save dates.
 */
function savedDay(s: MatchSubject): number {
  return dayOf(s.entry.saved ?? s.facts!.internalDate);
}
