/**
 * FROM, TO, CC and BCC (RFC 3501 §6.4.4) match a substring of the header. A client searching for
 * what it shows, `John Doe <jd@example.com>`, must find a header that quotes the name
 * (`"John Doe" <jd@example.com>`) or splits it into encoded words: so each address is also matched
 * as `Name <mailbox@domain>`, built from the ENVELOPE parsed at indexing, its name decoded.
 */
import type { MessageMeta } from "../../../mail/read/index.ts";
import { decodeHeaderText, type EnvelopeAddress } from "../../../mime/index.ts";

const FIELD = { FROM: "from", TO: "to", CC: "cc", BCC: "bcc" } as const;

export function addressTexts(meta: MessageMeta, kind: keyof typeof FIELD): string[] {
  const list: EnvelopeAddress[] = meta.index.envelope[FIELD[kind]] ?? [];
  const texts: string[] = [];
  for (const a of list) {
    if (a.mailbox === null) continue; // the end of a group
    const address = a.domain === null ? a.mailbox : `${a.mailbox}@${a.domain}`;
    const name = a.name === null ? "" : decodeHeaderText(a.name).replace(/\s+/g, " ").trim();
    texts.push(name ? `${name} <${address}>` : address);
  }
  return texts.length > 1 ? [...texts, texts.join(", ")] : texts;
}
