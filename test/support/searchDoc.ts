/**
 * A search index entry (mail/search/searchDoc.ts) for the index's own tests: message i's id,
 * dates and size, its Subject and body text, and the signatures the index computes from them.
 */
import type { SearchDoc } from "../../src/mail/search/searchDoc.ts";
import { trigramSignature } from "../../src/mail/search/trigramSignature.ts";

export interface DocParts {
  subject: string;
  bodyText: string;
  /** Header fields as name, value pairs flat; Subject alone when left out. */
  fields?: string[];
  size?: number;
}

export function searchDoc(i: number, parts: DocParts): SearchDoc {
  const headerText = `subject: ${parts.subject}`;
  return {
    id: `id-${String(i).padStart(5, "0")}`,
    internalDate: 1_700_000_000_000 + i,
    size: parts.size ?? 1000 + i,
    sentDay: 1_699_920_000_000,
    headerText,
    fields: parts.fields ?? ["subject", parts.subject],
    bodyText: parts.bodyText,
    signature: trigramSignature(parts.bodyText),
    headerSignature: trigramSignature(headerText),
  };
}
