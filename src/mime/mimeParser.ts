/**
 * A streaming MIME parser (RFC 2045/2046) that finds the part tree with exact byte offsets, reading
 * broken messages exactly as Dovecot 2.3's lib-mail message-parser does, so that BODYSTRUCTURE, part
 * sizes and BODY[section] equal Dovecot's:
 * - a delimiter line matches when it starts with "--" and a boundary of any open multipart
 *   (RFC 2046 §5.1.1 only asks for the prefix); the longest one wins; "--" after it closes;
 * - the line break before a delimiter belongs to the delimiter, not to the part before it;
 * - a delimiter met inside a header block ends that block (the part then has no body);
 * - message/rfc822 is always descended into, whatever its encoding or disposition;
 * - inside multipart/digest a part without Content-Type is message/rfc822 (RFC 2046 §5.1.5);
 * - a multipart without a usable boundary, or whose boundary never appears, has no children.
 * Body bytes are never kept: only header blocks, so memory stays bounded by the headers.
 */
import { TooBig } from "../errors.ts";
import { parseHeaderBlock, type HeaderField } from "./headerBlock.ts";
import { readMimeParams } from "./mimeParams.ts";
import { readContentType } from "./contentData.ts";
import { Rfc822Reader } from "./rfc822Reader.ts";

/** A position in the input with the counts needed for RFC 822 sizes and line counts. */
export interface Mark {
  at: number;
  /** LF bytes before this position. */
  lf: number;
  /** LF bytes without a CR before them (each counts one more octet in RFC 822 sizes). */
  bareLf: number;
}

export interface ParsedPart {
  parent: ParsedPart | null;
  children: ParsedPart[];
  headerStart: Mark;
  headerEnd: Mark;
  bodyEnd: Mark;
  /** The raw header block, one char per byte. */
  header: string;
  fields: HeaderField[];
  isMime: boolean;
  multipart: boolean;
  rfc822: boolean;
  text: boolean;
  digest: boolean;
}

interface Node {
  parent: Node | null;
  children: Node[];
  headerStart: Mark;
  headerEnd: Mark | null;
  bodyEnd: Mark | null;
  headerLines: string[];
  headerBytes: number;
  fields: HeaderField[];
  isMime: boolean;
  multipart: boolean;
  rfc822: boolean;
  text: boolean;
  digest: boolean;
  seenContentType: boolean;
  boundary: string | null;
  /** The header block was ended by a delimiter line: the part has no body. */
  cut: boolean;
  depth: number;
}

interface OpenBoundary {
  part: Node;
  boundary: string;
  epilogueFound: boolean;
}

/** Dovecot truncates boundaries to 80 bytes (RFC 2046 allows 70) and reads delimiter lines that far. */
const BOUNDARY_MAX = 80;
const BOUNDARY_LINE_MAX = BOUNDARY_MAX + 4;
/** A body line longer than this without a line break is passed on in pieces (never a delimiter). */
const LONG_LINE = 64 * 1024;
/** Limits against hostile nesting; deeper parts are read as plain leaves. */
const MAX_DEPTH = 100;
const MAX_PARTS = 10_000;

export interface MimeParserLimits {
  /** Total bytes of all header blocks kept; more is refused with TooBig. */
  maxHeaderBytes: number;
}

const DEFAULT_LIMITS: MimeParserLimits = { maxHeaderBytes: 16 * 1024 * 1024 };

type Mode = "header" | "afterHeader" | "body";

const newlineLength = (line: string): number => (line.endsWith("\r\n") ? 2 : line.endsWith("\n") ? 1 : 0);

export class MimeParser {
  private readonly root: Node;
  private part: Node;
  private mode: Mode = "header";
  private boundaries: OpenBoundary[] = [];
  /** Line break of the previous header line of the current part (0 when none). */
  private prevHeaderNl = 0;
  /** Line break of the previous body line: it belongs to a delimiter if one follows. */
  private pendingNl = 0;
  private carry = "";
  /** Inside an overlong body line whose start was already passed on. */
  private midLine = false;
  private mark: Mark = { at: 0, lf: 0, bareLf: 0 };
  private parts = 1;
  private headerBytes = 0;
  private done = false;
  private readonly limits: MimeParserLimits;

  constructor(limits: Partial<MimeParserLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.root = this.newNode(null, this.mark);
    this.part = this.root;
  }

  write(chunk: Uint8Array): void {
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
    let start = 0;
    let data = text;
    if (this.carry.length > 0) {
      data = this.carry + text;
      this.carry = "";
    }
    for (;;) {
      const lf = data.indexOf("\n", start);
      if (lf < 0) break;
      this.feedLine(data.slice(start, lf + 1));
      start = lf + 1;
    }
    const rest = data.slice(start);
    if (rest.length > LONG_LINE && this.mode === "body") {
      // keep a possible CR so that a CRLF split across writes is still seen as one line break
      const keep = rest.endsWith("\r") ? 1 : 0;
      this.feedPiece(rest.slice(0, rest.length - keep));
      this.carry = rest.slice(rest.length - keep);
    } else {
      this.carry = rest;
    }
  }

  end(): ParsedPart {
    if (this.done) throw new Error("MimeParser.end() called twice");
    this.done = true;
    if (this.carry.length > 0) {
      this.feedLine(this.carry);
      this.carry = "";
    }
    const eof = this.mark;
    if (this.mode === "header") {
      this.part.headerEnd = eof;
      this.endHeaders(this.part, false);
      this.mode = "afterHeader";
    }
    if (this.mode === "afterHeader") {
      // Dovecot gives a message/rfc822 part its (empty) message even at the end of input
      while (this.part.rfc822) {
        if (!this.canDescend(this.part)) {
          this.part.rfc822 = false;
          break;
        }
        const child = this.newNode(this.part, eof);
        child.headerEnd = eof;
        this.endHeaders(child, false);
        child.bodyEnd = eof;
        this.part = child;
      }
    }
    for (let node: Node | null = this.part; node; node = node.parent) this.close(node, eof);
    return this.freeze(this.root);
  }

  private newNode(parent: Node | null, start: Mark): Node {
    const node: Node = {
      parent,
      children: [],
      headerStart: start,
      headerEnd: null,
      bodyEnd: null,
      headerLines: [],
      headerBytes: 0,
      fields: [],
      isMime: false,
      multipart: false,
      rfc822: false,
      text: false,
      digest: false,
      seenContentType: false,
      boundary: null,
      cut: false,
      depth: parent ? parent.depth + 1 : 0,
    };
    if (parent) {
      parent.children.push(node);
      this.parts++;
    }
    return node;
  }

  private advance(line: string): void {
    const nl = newlineLength(line);
    this.mark = {
      at: this.mark.at + line.length,
      lf: this.mark.lf + (nl > 0 ? 1 : 0),
      bareLf: this.mark.bareLf + (nl === 1 ? 1 : 0),
    };
  }

  /** A piece of an overlong body line: plain body bytes. */
  private feedPiece(piece: string): void {
    if (piece.length === 0) return;
    this.pendingNl = 0;
    this.midLine = true;
    this.advance(piece);
  }

  private feedLine(line: string): void {
    if (this.midLine) {
      // the end of an overlong line: body bytes, never a delimiter
      this.midLine = false;
      this.pendingNl = newlineLength(line);
      this.advance(line);
      return;
    }
    this.processLine(line);
    this.advance(line);
  }

  private processLine(line: string): void {
    for (;;) {
      const m = this.mark;
      if (this.mode === "body") {
        const found = this.findBoundary(line);
        if (found) this.delimiter(found, line, m);
        else this.pendingNl = newlineLength(line);
        return;
      }
      const found = this.findBoundary(line);
      if (found && found.part !== this.part) {
        // a delimiter ends this header block; its line break before it goes with the delimiter
        const part = this.part;
        part.headerEnd = minusNl(m, this.prevHeaderNl);
        part.cut = true;
        if (this.mode === "header") this.endHeaders(part, false);
        this.afterHeaders(m);
        continue;
      }
      if (this.mode === "afterHeader") {
        this.afterHeaders(m);
        continue;
      }
      this.addHeaderLine(line);
      const nl = newlineLength(line);
      if (line.length === nl && nl > 0) {
        this.part.headerEnd = plusLine(m, line);
        this.endHeaders(this.part, true);
        this.mode = "afterHeader";
      }
      this.prevHeaderNl = nl;
      return;
    }
  }

  private addHeaderLine(line: string): void {
    this.part.headerLines.push(line);
    this.part.headerBytes += line.length;
    this.headerBytes += line.length;
    if (this.headerBytes > this.limits.maxHeaderBytes) {
      throw new TooBig(
        `the message's header blocks exceed ${this.limits.maxHeaderBytes} bytes; it cannot be stored`,
      );
    }
  }

  /** What follows a finished header block: the children, the embedded message, or the body. */
  private afterHeaders(m: Mark): void {
    const part = this.part;
    if (part.rfc822) {
      if (this.canDescend(part)) {
        this.part = this.newNode(part, m);
        this.mode = "header";
        this.prevHeaderNl = 0;
        return;
      }
      part.rfc822 = false;
    }
    this.mode = "body";
    this.pendingNl = 0;
  }

  private canDescend(part: Node): boolean {
    return this.parts < MAX_PARTS && part.depth < MAX_DEPTH;
  }

  private endHeaders(part: Node, atBlankLine: boolean): void {
    const block = part.headerLines.join("");
    part.fields = parseHeaderBlock(block).fields;
    let contentType: HeaderField | undefined;
    for (const field of part.fields) {
      const name = field.name.toLowerCase();
      if (name === "mime-version") part.isMime = true;
      else if (name === "content-type") {
        part.isMime = true;
        contentType ??= field;
      }
    }
    if (contentType) {
      part.seenContentType = true;
      const reader = new Rfc822Reader(contentType.value);
      reader.skipLwsp();
      const { type, subtype, ok } = readContentType(reader);
      const full = (subtype === null ? type : `${type}/${subtype}`).toLowerCase();
      if (full === "message/rfc822") part.rfc822 = true;
      else if (full.startsWith("text") && (full.length === 4 || full[4] === "/")) part.text = true;
      else if (full.startsWith("multipart/")) {
        part.multipart = true;
        part.digest = full.slice(10) === "digest";
      }
      if (ok && part.multipart) {
        const boundary = readMimeParams(reader).find((p) => p.name.toLowerCase() === "boundary");
        if (boundary) part.boundary = boundary.value.slice(0, BOUNDARY_MAX);
      }
    }
    if (!part.isMime) {
      part.multipart = part.rfc822 = part.text = part.digest = false;
      part.boundary = null;
    }
    if (!part.seenContentType || !part.isMime) {
      if (part.parent?.digest) part.rfc822 = true;
      else part.text = true;
    }
    // past the limits a part is a leaf: its delimiters are then plain body lines
    if (!this.canDescend(part)) part.multipart = part.rfc822 = false;
    if (atBlankLine && part.multipart && part.boundary !== null && part.isMime) {
      this.boundaries.push({ part, boundary: part.boundary, epilogueFound: false });
    }
  }

  /** The open boundary a line delimits, if any (the longest match among all open ones). */
  private findBoundary(line: string): OpenBoundary | null {
    if (
      this.boundaries.length === 0 ||
      line.length < 2 ||
      line.charCodeAt(0) !== 0x2d ||
      line.charCodeAt(1) !== 0x2d
    ) {
      return null;
    }
    let size = line.length - 2;
    if (line.endsWith("\n")) {
      size--;
      if (size > 0 && line.charCodeAt(2 + size - 1) === 0x0d) size--;
      if (size > 2 && line.charCodeAt(2 + size - 1) === 0x2d && line.charCodeAt(2 + size - 2) === 0x2d)
        size -= 2;
    } else if (size > BOUNDARY_LINE_MAX) size = BOUNDARY_LINE_MAX;
    let best: OpenBoundary | null = null;
    for (let i = this.boundaries.length - 1; i >= 0; i--) {
      const b = this.boundaries[i]!;
      if (
        b.boundary.length <= size &&
        line.startsWith(b.boundary, 2) &&
        (!best || best.boundary.length < b.boundary.length)
      ) {
        best = b;
        if (b.boundary.length === size) break;
      }
    }
    if (best) best.epilogueFound = line.startsWith("--", 2 + best.boundary.length);
    return best;
  }

  private close(node: Node, end: Mark): void {
    if (node.headerEnd === null) node.headerEnd = end;
    if (node.bodyEnd === null) node.bodyEnd = node.cut ? node.headerEnd : end;
  }

  private delimiter(found: OpenBoundary, line: string, m: Mark): void {
    const end = minusNl(m, this.pendingNl);
    while (this.part !== found.part) {
      this.close(this.part, end);
      this.part = this.part.parent!;
    }
    const index = this.boundaries.indexOf(found);
    this.boundaries.length = found.epilogueFound ? index : index + 1;
    const top = this.boundaries[this.boundaries.length - 1];
    if (top && top.part === this.part && this.parts < MAX_PARTS) {
      const child = this.newNode(this.part, plusLine(m, line));
      child.isMime = true;
      this.part = child;
      this.mode = "header";
      this.prevHeaderNl = 0;
    } else {
      this.mode = "body";
      this.pendingNl = 0;
    }
  }

  private freeze(node: Node): ParsedPart {
    const out: ParsedPart = {
      parent: null,
      children: [],
      headerStart: node.headerStart,
      headerEnd: node.headerEnd!,
      bodyEnd: node.bodyEnd!,
      header: node.headerLines.join(""),
      fields: node.fields,
      isMime: node.isMime,
      multipart: node.multipart,
      rfc822: node.rfc822,
      text: node.text,
      digest: node.digest,
    };
    out.children = node.children.map((c) => {
      const child = this.freeze(c);
      child.parent = out;
      return child;
    });
    return out;
  }
}

function minusNl(m: Mark, nl: number): Mark {
  if (nl === 0) return m;
  return { at: m.at - nl, lf: m.lf - 1, bareLf: m.bareLf - (nl === 1 ? 1 : 0) };
}

function plusLine(m: Mark, line: string): Mark {
  const nl = newlineLength(line);
  return { at: m.at + line.length, lf: m.lf + (nl > 0 ? 1 : 0), bareLf: m.bareLf + (nl === 1 ? 1 : 0) };
}
