/**
 * FROM, TO, CC and BCC (RFC 3501 §6.4.4) match a substring of the header. A client searching for
 * what it shows, `John Doe <jd@example.com>`, must find a header that quotes the name
 * (`"John Doe" <jd@example.com>`) or splits it into encoded words: so each address is also matched
 * as `Name <mailbox@domain>`, parsed from the decoded header value. The search index stores these
 * texts (searchDoc.ts), so that FROM parses nothing there; a scan computes them (searchFacts.ts).
 */
import { parseAddressList } from "../../mime/index.ts";

export const ADDRESS_FIELDS = ["from", "to", "cc", "bcc"] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];

/**
 * The name under which the index keeps a field's address texts: it starts with NUL, which no
 * header field name holds and no IMAP client can send (RFC 3501 §9: CHAR8 excludes %x00).
 */
export function addressField(field: AddressField): string {
  return `\0${field}`;
}

/**
 * Each address of the header values (already decoded, as SearchFacts gives them, from the local
 * index or from sealed meta alike, so both paths answer the same) as `name <mailbox@domain>`, and
 * all of them joined when there are several.
 */
export function addressTexts(values: readonly string[]): string[] {
  const texts: string[] = [];
  for (const value of values)
    for (const a of parseAddressList(value)) {
      if (a.mailbox === null) continue; // the end of a group
      const address = a.domain === null ? a.mailbox : `${a.mailbox}@${a.domain}`;
      const name = a.name === null ? "" : a.name.replace(/\s+/g, " ").trim();
      texts.push(name ? `${name} <${address}>` : address);
    }
  return texts.length > 1 ? [...texts, texts.join(", ")] : texts;
}
