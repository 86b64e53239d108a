/**
 * Reading a raw header block (RFC 5322 §2.2) into fields, and HEADER.FIELDS extraction
 * (RFC 3501 §6.4.5). Malformed blocks are read as Dovecot reads them: a line without a colon is a
 * field named by the whole line; a line starting with SP or HTAB continues the previous field; the
 * first empty line ends the block.
 */
import type { ByteString } from "./types.ts";

export interface HeaderField {
  /** The name as written, without whitespace before the colon. */
  name: ByteString;
  /**
   * The value without the whitespace after the colon, continuation lines joined by LF (their own
   * leading whitespace kept, CR dropped). Empty for a line without a colon.
   */
  value: ByteString;
  /** The field's raw bytes in the block: [start, end), line breaks included. */
  start: number;
  end: number;
}

export interface ParsedHeaderBlock {
  fields: HeaderField[];
  /** Offset of the empty line that ends the block, or -1 when the block has none. */
  eohStart: number;
}

const LWSP = (c: number) => c === 0x20 || c === 0x09;

export function parseHeaderBlock(block: ByteString): ParsedHeaderBlock {
  const fields: HeaderField[] = [];
  let pos = 0;
  const len = block.length;
  let current: { field: HeaderField; parts: string[] } | null = null;
  const finish = () => {
    if (current) {
      current.field.value = current.parts.join("\n");
      fields.push(current.field);
      current = null;
    }
  };
  while (pos < len) {
    let lf = block.indexOf("\n", pos);
    const next = lf < 0 ? len : lf + 1;
    if (lf < 0) lf = len;
    const contentEnd = lf > pos && lf < len && block.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    const line = block.slice(pos, contentEnd);
    if (current !== null && line.length > 0 && LWSP(line.charCodeAt(0))) {
      const open: { field: HeaderField; parts: string[] } = current;
      open.parts.push(line);
      open.field.end = next;
    } else if (line.length === 0 && lf < len) {
      finish();
      return { fields, eohStart: pos };
    } else {
      finish();
      const colon = line.indexOf(":");
      let name: string;
      let value = "";
      if (colon < 0) {
        name = line;
      } else {
        let nameEnd = colon;
        while (nameEnd > 0 && LWSP(line.charCodeAt(nameEnd - 1))) nameEnd--;
        name = line.slice(0, nameEnd);
        value = line.slice(colon + 1);
        // all whitespace after the colon goes, unless the value is only whitespace: then one
        let skip = 0;
        while (skip < value.length && LWSP(value.charCodeAt(skip))) skip++;
        if (skip === value.length && value.length > 0) skip = 1;
        value = value.slice(skip);
      }
      current = { field: { name, value: "", start: pos, end: next }, parts: [value] };
    }
    pos = next;
  }
  finish();
  return { fields, eohStart: -1 };
}

/** NUL cannot travel in an IMAP string: Dovecot writes U+FFFD (as UTF-8) in its place. */
export function withoutNul(value: ByteString): ByteString {
  return value.includes("\0") ? value.replace(/\0/g, "\xef\xbf\xbd") : value;
}

/**
 * BODY[HEADER.FIELDS (names)] and BODY[HEADER.FIELDS.NOT (names)] (RFC 3501 §6.4.5): the matching
 * (or the other) fields exactly as they are in the block, continuation lines included, names
 * compared without case, then the empty line. FIELDS always ends with one, as Dovecot's does;
 * FIELDS.NOT keeps the block's own, if it has one.
 */
/**
 * The lower-cased names of recent field lists, by the list's text: a FETCH asks one list of every
 * message, and a client asks the same few lists again and again. Bounded: cleared past 64 lists.
 */
const wantedSets = new Map<string, ReadonlySet<string>>();

/** The list asked last, as the caller passed it: a FETCH passes one array for every message. */
let lastNames: readonly string[] | undefined;
let lastWanted: ReadonlySet<string> | undefined;

function wantedSet(names: readonly string[]): ReadonlySet<string> {
  if (names === lastNames && lastWanted) return lastWanted;
  const key = names.join("\0");
  let wanted = wantedSets.get(key);
  if (!wanted) {
    if (wantedSets.size >= 64) wantedSets.clear();
    wanted = new Set(names.map((n) => n.toLowerCase()));
    wantedSets.set(key, wanted);
  }
  lastNames = names;
  lastWanted = wanted;
  return wanted;
}

export function headerFields(headerBlock: ByteString, names: readonly string[], not = false): ByteString {
  const wanted = wantedSet(names);
  // The fields as parseHeaderBlock finds them, read for their names and extents alone: a client's
  // message list asks this of every message, and the values (joined continuation lines) are not
  // needed here.
  const len = headerBlock.length;
  let out = "";
  let pos = 0;
  let fieldStart = -1;
  let fieldWanted = false;
  let lastName: string | undefined;
  let eohStart = -1;
  while (pos < len) {
    let lf = headerBlock.indexOf("\n", pos);
    const next = lf < 0 ? len : lf + 1;
    if (lf < 0) lf = len;
    const contentEnd = lf > pos && lf < len && headerBlock.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    const empty = contentEnd === pos;
    if (fieldStart >= 0 && !empty && LWSP(headerBlock.charCodeAt(pos))) {
      pos = next; // a continuation line of the open field
      continue;
    }
    if (fieldStart >= 0 && fieldWanted !== not) out += headerBlock.slice(fieldStart, pos);
    fieldStart = -1;
    if (empty && lf < len) {
      eohStart = pos;
      break;
    }
    const colon = headerBlock.indexOf(":", pos);
    let nameEnd = contentEnd;
    if (colon >= 0 && colon < contentEnd) {
      nameEnd = colon;
      while (nameEnd > pos && LWSP(headerBlock.charCodeAt(nameEnd - 1))) nameEnd--;
    }
    lastName = headerBlock.slice(pos, nameEnd);
    fieldWanted = wanted.has(lastName.toLowerCase());
    fieldStart = pos;
    pos = next;
  }
  if (fieldStart >= 0 && fieldWanted !== not) out += headerBlock.slice(fieldStart, pos);
  if (not) return eohStart >= 0 ? out + headerBlock.slice(eohStart) : out;
  // A block cut short by a MIME delimiter ends in a line without a line break: Dovecot ends that
  // line when it is wanted, and adds nothing when it is not.
  const endsOpen = eohStart < 0 && !headerBlock.endsWith("\n");
  if (endsOpen && lastName !== undefined && !wanted.has(lastName.toLowerCase())) return out;
  return out + "\r\n";
}
