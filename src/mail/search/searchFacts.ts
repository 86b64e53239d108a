/**
 * What SEARCH (RFC 3501 §6.4.4) needs to know of one message, in one shape whether it comes from
 * the sealed meta and body (a full scan) or from the local search index (searchIndex.ts). Strings
 * are case-folded with `toLowerCase()` once, here or when the index was built, so that a match is
 * `haystack.includes(needle.toLowerCase())` on both paths: the index answers exactly as a scan.
 */
import { decodedHeaderValue, decodedHeaderValues, decodeHeaderText } from "../../mime/index.ts";
import type { MessageMeta } from "../metaCodec.ts";
import { addressTexts, type AddressField } from "./addressTexts.ts";

const DAY = 86_400_000;

export interface SearchFacts {
  readonly size: number;
  readonly internalDate: number;
  /** The day (UTC midnight) of the Date header as written there, else of the internal date. */
  sentDay(): number;
  /** Every value of header `field` (any case), decoded and lower-cased. */
  headerValues(field: string): string[] | Promise<string[]>;
  /** addressTexts() of the field's values (FROM, TO, CC, BCC). */
  addressTexts(field: AddressField): string[] | Promise<string[]>;
  /** The whole header block, unfolded, decoded and lower-cased (TEXT). */
  headerText(): string | Promise<string>;
  /** The decoded text of every text part, joined and lower-cased (BODY, TEXT). */
  bodyText(): Promise<string>;
  /**
   * Whether headerText() holds `needle` (lower-cased): exactly `headerText().includes(needle)`,
   * however it is worked out (the index rules messages out by signature and searches the bytes).
   */
  headerTextHas(needle: string): boolean | Promise<boolean>;
  /** Whether bodyText() holds `needle` (lower-cased): exactly `bodyText().includes(needle)`. */
  bodyHas(needle: string): Promise<boolean>;
}

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

/** The day of a Date header, as written there, ignoring its time and zone. */
export function sentDayOf(header: string, internalDate: number): number {
  const raw = decodedHeaderValue(header, "Date");
  const m = raw && /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(raw);
  if (m) {
    const year = Number(m[3]!.length === 2 ? (Number(m[3]) < 50 ? "20" : "19") + m[3] : m[3]);
    const ms = Date.parse(`${m[1]} ${m[2]} ${year} 00:00:00 GMT`);
    if (!Number.isNaN(ms)) return ms;
  }
  return dayOf(internalDate);
}

/** Facts read from sealed meta, each computed when first asked for; `text` reads the body. */
export function metaFacts(meta: MessageMeta, text: () => Promise<string>): SearchFacts {
  let body: Promise<string> | undefined;
  let header: string | undefined;
  const headerText = () => (header ??= decodeHeaderText(meta.header).toLowerCase());
  const bodyText = () => (body ??= text().then((t) => t.toLowerCase()));
  return {
    size: meta.size,
    internalDate: meta.internalDate,
    sentDay: () => sentDayOf(meta.header, meta.internalDate),
    headerValues: (field) => decodedHeaderValues(meta.header, field).map((v) => v.toLowerCase()),
    addressTexts: (field) =>
      addressTexts(decodedHeaderValues(meta.header, field).map((v) => v.toLowerCase())),
    headerText,
    bodyText,
    headerTextHas: (needle) => headerText().includes(needle),
    bodyHas: async (needle) => (await bodyText()).includes(needle),
  };
}
