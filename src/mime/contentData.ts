/**
 * The Content-* fields of one part (RFC 2045, RFC 2183 disposition, RFC 3282 language, RFC 2557
 * location) read as Dovecot 2.3 reads them for BODYSTRUCTURE: the first Content-Type,
 * Content-Transfer-Encoding, Content-ID, Content-Description, Content-MD5, Content-Language and
 * Content-Location count; Content-Disposition is read again while the one kept has no parameters.
 */
import { readMimeParams } from "./mimeParams.ts";
import { Rfc822Reader } from "./rfc822Reader.ts";
import { withoutNul, type HeaderField } from "./headerBlock.ts";
import type { ContentData } from "./types.ts";

export function emptyContentData(): ContentData {
  return {
    type: null,
    subtype: null,
    params: [],
    id: null,
    description: null,
    encoding: null,
    md5: null,
    disposition: null,
    dispositionParams: [],
    language: null,
    location: null,
  };
}

/** "type/subtype" as far as readable, and whether it was well-formed. */
export function readContentType(reader: Rfc822Reader): { type: string; subtype: string | null; ok: boolean } {
  const out: string[] = [];
  const ok = reader.contentType(out) >= 0;
  const text = out.join("");
  const slash = text.indexOf("/");
  return slash < 0
    ? { type: text, subtype: null, ok }
    : { type: text.slice(0, slash), subtype: text.slice(slash + 1), ok };
}

function contentType(data: ContentData, value: string): void {
  const reader = new Rfc822Reader(value);
  reader.skipLwsp();
  const { type, subtype, ok } = readContentType(reader);
  data.type = type;
  data.subtype = subtype ?? "";
  if (ok) data.params = readMimeParams(reader);
}

function transferEncoding(data: ContentData, value: string): void {
  const reader = new Rfc822Reader(value);
  reader.skipLwsp();
  const out: string[] = [];
  if (reader.mimeToken(out) >= 0 && reader.skipLwsp() === 0 && out[0]!.length > 0) data.encoding = out[0]!;
}

function disposition(data: ContentData, value: string): void {
  const reader = new Rfc822Reader(value);
  reader.skipLwsp();
  const out: string[] = [];
  if (reader.mimeToken(out) < 0) return;
  data.disposition = out[0]!;
  data.dispositionParams = readMimeParams(reader);
}

/** Content-Language: a comma-separated list of atoms. */
function language(data: ContentData, value: string): void {
  const reader = new Rfc822Reader(value);
  const langs: string[] = [];
  reader.skipLwsp();
  for (;;) {
    const out: string[] = [];
    if (reader.atom(out) < 0) break;
    langs.push(out.join(""));
    if (reader.pos >= reader.end || reader.at() !== 0x2c) break;
    reader.pos++;
    reader.skipLwsp();
  }
  if (langs.length > 0) data.language = langs;
}

/** Reads the Content-* fields of a header block. */
export function readContentData(fields: readonly HeaderField[]): ContentData {
  const data = emptyContentData();
  let dispositionHasParams = false;
  for (const field of fields) {
    const name = field.name.toLowerCase();
    if (!name.startsWith("content-")) continue;
    const value = withoutNul(field.value);
    switch (name) {
      case "content-type":
        if (data.type === null) contentType(data, value);
        break;
      case "content-transfer-encoding":
        if (data.encoding === null) transferEncoding(data, value);
        break;
      case "content-id":
        if (data.id === null) data.id = withoutNul(value);
        break;
      case "content-description":
        if (data.description === null) data.description = withoutNul(value);
        break;
      case "content-md5":
        if (data.md5 === null) data.md5 = withoutNul(value);
        break;
      case "content-language":
        if (data.language === null) language(data, value);
        break;
      case "content-location":
        if (data.location === null) data.location = withoutNul(value);
        break;
      case "content-disposition":
        if (!dispositionHasParams) {
          disposition(data, value);
          dispositionHasParams = data.dispositionParams.length > 0;
        }
        break;
    }
  }
  return data;
}
