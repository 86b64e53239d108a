/**
 * One message as the search index keeps it: what SEARCH reads from meta (sizes, dates, every
 * header field decoded) and the decoded text of its text parts, all lower-cased as searchFacts.ts
 * compares them, and the body's trigram signature.
 */
import { decodeHeaderText, parseHeaderBlock } from "../../mime/index.ts";
import type { MessageMeta } from "../metaCodec.ts";
import { ADDRESS_FIELDS, addressField, addressTexts } from "./addressTexts.ts";
import { sentDayOf } from "./searchFacts.ts";
import { trigramSignature } from "./trigramSignature.ts";

export interface SearchDoc {
  id: string;
  internalDate: number;
  size: number;
  sentDay: number;
  /** The whole header block, decoded and lower-cased. */
  headerText: string;
  /**
   * Name, value, name, value...: every header field, both lower-cased, the value decoded; then the
   * address texts of From, To, Cc and Bcc under names no field can have (addressField()).
   */
  fields: string[];
  /** The decoded text of every text part, joined, lower-cased. */
  bodyText: string;
  /** Trigram signatures of the body text and of the header text (trigramSignature.ts). */
  signature: Uint8Array;
  headerSignature: Uint8Array;
}

/** A lone surrogate would not survive UTF-8: such a message is left to the full scan. */
export const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The index's record of a message, or null when it cannot be stored as it is (a lone surrogate, a
 * field name the index uses for itself): such a message is scanned.
 */
export function searchDoc(id: string, meta: MessageMeta, bodyText: string): SearchDoc | null {
  const fields: string[] = [];
  for (const f of parseHeaderBlock(meta.header).fields) {
    // A field name starting with NUL would pass for the index's own names: left to the scan.
    if (f.name.startsWith("\0")) return null;
    fields.push(f.name.toLowerCase(), decodeHeaderText(f.value).toLowerCase());
  }
  for (const field of ADDRESS_FIELDS) {
    const values: string[] = [];
    for (let k = 0; k < fields.length; k += 2) if (fields[k] === field) values.push(fields[k + 1]!);
    for (const text of addressTexts(values)) fields.push(addressField(field), text);
  }
  const headerText = decodeHeaderText(meta.header).toLowerCase();
  const body = bodyText.toLowerCase();
  if (LONE_SURROGATE.test(body) || LONE_SURROGATE.test(headerText)) return null;
  if (fields.some((f) => LONE_SURROGATE.test(f))) return null;
  return {
    id,
    internalDate: meta.internalDate,
    size: meta.size,
    sentDay: sentDayOf(meta.header, meta.internalDate),
    headerText,
    fields,
    bodyText: body,
    signature: trigramSignature(body),
    headerSignature: trigramSignature(headerText),
  };
}
