/**
 * Parsing a message once, at append time, into everything IMAP FETCH needs (RFC 3501 §6.4.5,
 * §7.4.2): the part tree with byte offsets, sizes and line counts, the Content-* data of every part
 * and the ENVELOPE of the message and of every embedded message/rfc822. Reads a stream of chunks
 * and keeps only header blocks, so a 50 MB message costs its headers in memory, not its body.
 *
 * Sizes follow RFC 822 (a bare LF counts as CRLF, as Dovecot reports them); offsets are positions
 * in the bytes given. Store messages with CRLF line ends (see toCrlf) so that both agree and
 * BODY[section] can be cut straight out of the stored bytes.
 */
import { emptyContentData, readContentData } from "./contentData.ts";
import { readEnvelope } from "./envelope.ts";
import { MimeParser, type Mark, type MimeParserLimits, type ParsedPart } from "./mimeParser.ts";
import type { MessageIndex, MimePart, PartKind } from "./types.ts";

export type MessageSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export async function indexMessage(
  raw: MessageSource,
  limits: Partial<MimeParserLimits> = {},
): Promise<MessageIndex> {
  const parser = new MimeParser(limits);
  if (raw instanceof Uint8Array) parser.write(raw);
  else if (Symbol.asyncIterator in raw) for await (const chunk of raw) parser.write(chunk);
  else for (const chunk of raw) parser.write(chunk);
  return buildIndex(parser.end());
}

/** The same, for bytes already in memory (tests, small messages). */
export function indexMessageBytes(raw: Uint8Array, limits: Partial<MimeParserLimits> = {}): MessageIndex {
  const parser = new MimeParser(limits);
  parser.write(raw);
  return buildIndex(parser.end());
}

function buildIndex(root: ParsedPart): MessageIndex {
  const end = root.bodyEnd;
  return {
    version: 1,
    size: end.at + end.bareLf,
    physicalSize: end.at,
    header: root.header,
    envelope: readEnvelope(root.fields),
    root: root.multipart ? toMimePart(root, null, "") : toMimePart(root, "1", "1"),
  };
}

function span(a: Mark, b: Mark): { size: number; lines: number } {
  return { size: b.at - a.at + (b.bareLf - a.bareLf), lines: b.lf - a.lf };
}

function kindOf(part: ParsedPart): PartKind {
  if (part.multipart) return "multipart";
  if (part.rfc822) return "message";
  return part.text ? "text" : "basic";
}

/**
 * RFC 3501 §6.4.5 part numbers: `section` names this node; `base` prefixes its children. A
 * message/rfc822 part P holds a message whose parts are P.1, P.2... when it is multipart, or whose
 * body is P.1 when it is not; a top-level message that is not multipart has its body as part 1.
 */
function toMimePart(part: ParsedPart, section: string | null, base: string): MimePart {
  const { size, lines } = span(part.headerEnd, part.bodyEnd);
  const parentIsMessage = part.parent?.rfc822 === true;
  const out: MimePart = {
    section,
    kind: kindOf(part),
    headerStart: part.headerStart.at,
    bodyStart: part.headerEnd.at,
    bodyEnd: part.bodyEnd.at,
    size,
    lines,
    // RFC 2045 §4: without MIME-Version (or Content-Type) the Content-* fields mean nothing
    content: part.isMime ? readContentData(part.fields) : emptyContentData(),
    envelope: parentIsMessage ? readEnvelope(part.fields) : null,
    children: [],
  };
  if (part.multipart) {
    out.children = part.children.map((c, i) => {
      const s = base === "" ? String(i + 1) : `${base}.${i + 1}`;
      return toMimePart(c, s, s);
    });
  } else if (part.rfc822) {
    const message = part.children[0]!;
    const inner = section ?? base;
    out.children = [
      message.multipart ? toMimePart(message, null, inner) : toMimePart(message, `${inner}.1`, `${inner}.1`),
    ];
  }
  return out;
}
