/**
 * The bytes of one BODY[section]<partial> (RFC 3501 §6.4.5) of a stored message, as a streamed
 * literal. Headers of the top-level message come from sealed meta, so a header-only FETCH never
 * reads the body blob; everything else is a ranged read of only the chunks it needs.
 */
import type { BodyReader, MessageMeta } from "../../../mail/read/index.ts";
import { headerFields, sectionRange, type ByteRange } from "../../../mime/index.ts";
import type { Section } from "../parser/types.ts";
import type { BytesLiteral, Latin1Literal, StreamedLiteral } from "../protocol/wire.ts";

/** Bytes per ranged read when a body is streamed. */
const STREAM_CHUNK = 256 * 1024;

export type SectionSource =
  { kind: "bytes"; bytes: Uint8Array } | { kind: "range"; range: ByteRange } | { kind: "missing" };

/** Names already made, by the parsed section (a FETCH names one section for every message). */
const sectionNames = new WeakMap<Section, string>();

/** The section's text: `BODY[1.2.HEADER.FIELDS (From)]` names it "1.2.HEADER.FIELDS (From)". */
export function sectionName(section: Section): string {
  let name = sectionNames.get(section);
  if (name === undefined) sectionNames.set(section, (name = nameOf(section)));
  return name;
}

function nameOf(section: Section): string {
  const parts: string[] = [];
  if (section.part.length > 0) parts.push(section.part.join("."));
  if (section.text) {
    const fields = section.fields ? ` (${section.fields.join(" ")})` : "";
    parts.push(section.text + fields);
  }
  return parts.join(".");
}

/** Where the section's bytes are, before any partial. */
export async function locateSection(
  meta: MessageMeta,
  read: BodyReader,
  section: Section,
): Promise<SectionSource> {
  const text = section.text;
  const topLevel = section.part.length === 0;
  if (topLevel && (text === "HEADER" || text === "HEADER.FIELDS" || text === "HEADER.FIELDS.NOT"))
    return { kind: "bytes", bytes: topHeaderBytes(meta.header, section) };
  // The whole message (BODY[], RFC822) needs no MIME tree either: its size is in the eager meta.
  if (topLevel && !text) return { kind: "range", range: { start: 0, end: meta.physicalSize } };
  const index = meta.index; // parsed only now: top-level headers never need the MIME tree
  if (text === "HEADER.FIELDS" || text === "HEADER.FIELDS.NOT") {
    // Fields of a message/rfc822 part: its header block lives in the body blob.
    const range = sectionRange(index, section.part, "HEADER");
    if (!range) return { kind: "missing" };
    const block = Buffer.from(await read(meta, range.start, range.end - range.start)).toString("latin1");
    return {
      kind: "bytes",
      bytes: Buffer.from(headerFields(block, section.fields ?? [], text === "HEADER.FIELDS.NOT"), "latin1"),
    };
  }
  const range = sectionRange(index, section.part, text ?? "");
  return range ? { kind: "range", range } : { kind: "missing" };
}

/** A top-level HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT section, cut from the header block. */
export function topHeaderBytes(header: string, section: Section): Uint8Array {
  return Buffer.from(topHeaderText(header, section), "latin1");
}

/** As topHeaderBytes, one latin1 character per byte. */
function topHeaderText(header: string, section: Section): string {
  const text = section.text;
  return text === "HEADER"
    ? header
    : headerFields(header, section.fields ?? [], text === "HEADER.FIELDS.NOT");
}

/**
 * The literal of a top-level header section cut from a latin1 header block (a message list's
 * `BODY.PEEK[HEADER.FIELDS (...)]`, answered from the list view): the same bytes as
 * bytesLiteral(topHeaderBytes(...)), NUL sent as 0x80 likewise, with no Buffer made for them.
 */
export function topHeaderLiteral(
  header: string,
  section: Section,
  partial?: { offset: number; length: number },
): Latin1Literal {
  let text = topHeaderText(header, section);
  if (partial) text = text.slice(partial.offset, partial.offset + partial.length);
  return { kind: "latin1Literal", text: text.includes("\0") ? text.replaceAll("\0", "\x80") : text };
}

/** RFC 3501 forbids NUL in a literal; Dovecot sends 0x80 in its place, and so do we. */
function withoutNul(bytes: Uint8Array): Uint8Array {
  if (bytes.indexOf(0) < 0) return bytes;
  const copy = Buffer.from(bytes);
  for (let i = copy.indexOf(0); i >= 0; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
  return copy;
}

/** The literal for bytes at hand, cut to `<offset.length>` when asked. */
export function bytesLiteral(bytes: Uint8Array, partial?: { offset: number; length: number }): BytesLiteral {
  const start = partial ? Math.min(partial.offset, bytes.length) : 0;
  const size = partial ? Math.min(partial.length, bytes.length - start) : bytes.length;
  return { kind: "bytesLiteral", bytes: withoutNul(bytes.subarray(start, start + size)) };
}

/** The literal for a located section, cut to `<offset.length>` when asked. */
export function sectionLiteral(
  source: Exclude<SectionSource, { kind: "missing" }>,
  meta: MessageMeta,
  read: BodyReader,
  partial?: { offset: number; length: number },
): StreamedLiteral | BytesLiteral {
  if (source.kind === "bytes") return bytesLiteral(source.bytes, partial);
  const total = source.range.end - source.range.start;
  const start = partial ? Math.min(partial.offset, total) : 0;
  const size = partial ? Math.min(partial.length, total - start) : total;
  const from = source.range.start + start;
  return {
    kind: "literal",
    size,
    async *chunks() {
      for (let done = 0; done < size;) {
        const n = Math.min(STREAM_CHUNK, size - done);
        yield withoutNul(await read(meta, from + done, n));
        done += n;
      }
    },
  };
}
