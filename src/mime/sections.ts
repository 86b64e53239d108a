/**
 * Where a FETCH BODY[section] (RFC 3501 §6.4.5) lies in the stored message, from its index.
 * HEADER.FIELDS and HEADER.FIELDS.NOT take the HEADER range and filter it with headerFields().
 */
import { emptyContentData } from "./contentData.ts";
import type { MessageIndex, MimePart } from "./types.ts";

export type SectionText = "" | "HEADER" | "TEXT" | "MIME";

export interface ByteRange {
  start: number;
  end: number;
}

/** The node that part number `path` (e.g. [2, 1] for "2.1") names, or null when there is none. */
export function findPart(index: MessageIndex, path: readonly number[]): MimePart | null {
  if (path.length === 0) return null;
  const root = index.root;
  let node: MimePart | null = root.kind === "multipart" ? child(root, path[0]!) : path[0] === 1 ? root : null;
  for (let i = 1; node && i < path.length; i++) {
    const n = path[i]!;
    if (node.kind === "multipart") node = child(node, n);
    else if (node.kind === "message") {
      const message: MimePart = node.children[0]!;
      node = message.kind === "multipart" ? child(message, n) : n === 1 ? message : null;
    } else node = null;
  }
  return node;
}

/**
 * Part n of a multipart. One without parts shows a single empty text/plain part in BODYSTRUCTURE,
 * and Dovecot serves it as empty sections; so do we.
 */
function child(multipart: MimePart, n: number): MimePart | null {
  if (multipart.children.length > 0 || n !== 1) return multipart.children[n - 1] ?? null;
  const at = multipart.bodyStart;
  return {
    section: null,
    kind: "text",
    headerStart: at,
    bodyStart: at,
    bodyEnd: at,
    size: 0,
    lines: 0,
    content: emptyContentData(),
    envelope: null,
    children: [],
  };
}

/**
 * The byte range of a section: the whole message ([] and ""), its header or text ([] with HEADER
 * or TEXT), a part's body (path and ""), its MIME header (MIME), or the header or text of the
 * message inside a message/rfc822 part (HEADER, TEXT). Null when the section does not exist.
 */
export function sectionRange(
  index: MessageIndex,
  path: readonly number[],
  text: SectionText,
): ByteRange | null {
  if (path.length === 0) {
    const root = index.root;
    if (text === "") return { start: 0, end: index.physicalSize };
    if (text === "HEADER") return { start: root.headerStart, end: root.bodyStart };
    if (text === "TEXT") return { start: root.bodyStart, end: root.bodyEnd };
    return null;
  }
  const node = findPart(index, path);
  if (!node) return null;
  if (text === "") return { start: node.bodyStart, end: node.bodyEnd };
  if (text === "MIME") return { start: node.headerStart, end: node.bodyStart };
  if (node.kind !== "message") return null;
  const message = node.children[0]!;
  return text === "HEADER"
    ? { start: message.headerStart, end: message.bodyStart }
    : { start: message.bodyStart, end: message.bodyEnd };
}
