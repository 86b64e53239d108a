/**
 * The preview of a message (RFC 8970 §3.2): plain text a client shows under the subject in a list.
 * It comes from the first text part meant to be read inline (text/plain before text/html, whose
 * markup is dropped), without quoted lines, with white space collapsed, cut to 256 characters.
 * Only the start of that part is read: a preview never needs more.
 */
import { decodePartText, listTextParts } from "./decode.ts";
import type { MessageIndex, MimePart } from "./types.ts";

/** RFC 8970 §3.2: a preview holds at most this many characters. */
export const PREVIEW_MAX_CHARS = 256;
/** Bytes of the chosen part read at most: enough for 256 characters after any markup and quoting. */
const PREVIEW_READ_BYTES = 64 * 1024;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** The part the preview is made from, or null when the message has no readable text. */
function previewPart(index: MessageIndex): MimePart | null {
  const inline = listTextParts(index).filter(
    (p) => (p.content.disposition ?? "").toLowerCase() !== "attachment",
  );
  const subtype = (p: MimePart) => (p.content.subtype ?? "plain").toLowerCase();
  return inline.find((p) => subtype(p) === "plain") ?? inline.find((p) => subtype(p) === "html") ?? null;
}

/** Text of an HTML body: scripts and styles gone, tags gone, the common entities decoded. */
function htmlText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?(<\/\1\s*>|$)/gi, " ")
    .replace(/<!--[\s\S]*?(-->|$)/g, " ")
    .replace(/<[^>]*>?/g, " ")
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
      const lower = name.toLowerCase();
      if (lower.startsWith("#x")) return String.fromCodePoint(parseInt(lower.slice(2), 16) % 0x110000);
      if (lower.startsWith("#")) return String.fromCodePoint(Number(lower.slice(1)) % 0x110000);
      return ENTITIES[lower] ?? whole;
    });
}

/** Collapsed, unquoted text cut to PREVIEW_MAX_CHARS characters (code points). */
export function previewOfText(text: string): string {
  const lines = text.split(/\r?\n/).filter((line) => !line.startsWith(">"));
  const flat = lines
    .join(" ")
    .replace(/[\s\u0000-\u001f\u007f]+/g, " ")
    .trim();
  const chars = Array.from(flat);
  return chars.length <= PREVIEW_MAX_CHARS ? flat : chars.slice(0, PREVIEW_MAX_CHARS).join("").trimEnd();
}

/** The message's preview; "" when it has no text to show. `readBody` reads stored bytes [start, end). */
export async function messagePreview(
  index: MessageIndex,
  readBody: (start: number, end: number) => Promise<Uint8Array>,
): Promise<string> {
  const part = previewPart(index);
  if (!part) return "";
  const end = Math.min(part.bodyEnd, part.bodyStart + PREVIEW_READ_BYTES);
  const text = decodePartText(part, await readBody(part.bodyStart, end));
  const html = (part.content.subtype ?? "").toLowerCase() === "html";
  return previewOfText(html ? htmlText(text) : text);
}
