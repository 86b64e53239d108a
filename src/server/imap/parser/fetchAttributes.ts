/** FETCH attributes (RFC 3501 §6.4.5, RFC 7162 MODSEQ), with BODY[section]<partial>. */
import type { Cursor } from "./cursor.ts";
import { ParseError } from "./parseError.ts";
import type { FetchAttribute, Section } from "./types.ts";

const SIMPLE: Record<string, FetchAttribute> = {
  UID: { kind: "UID" },
  FLAGS: { kind: "FLAGS" },
  INTERNALDATE: { kind: "INTERNALDATE" },
  "RFC822.SIZE": { kind: "RFC822.SIZE" },
  ENVELOPE: { kind: "ENVELOPE" },
  BODYSTRUCTURE: { kind: "BODYSTRUCTURE" },
  MODSEQ: { kind: "MODSEQ" },
  SAVEDATE: { kind: "SAVEDATE" },
  EMAILID: { kind: "EMAILID" },
  THREADID: { kind: "THREADID" },
  RFC822: { kind: "RFC822" },
  "RFC822.HEADER": { kind: "RFC822.HEADER" },
  "RFC822.TEXT": { kind: "RFC822.TEXT" },
};

function name(c: Cursor): string {
  let out = "";
  while (/[A-Za-z0-9.]/.test(c.peek())) {
    out += c.peek();
    c.accept(c.peek());
  }
  if (!out) throw new ParseError(`a fetch attribute was expected${c.near()}`);
  return out.toUpperCase();
}

export function fetchAttribute(c: Cursor): FetchAttribute {
  const n = name(c);
  if (n === "BODY" || n === "BODY.PEEK") {
    if (c.peek() !== "[") {
      if (n === "BODY.PEEK") throw new ParseError("BODY.PEEK needs a [section]");
      return { kind: "BODY" };
    }
    c.expect("[");
    const section = sectionSpec(c);
    c.expect("]");
    const partial = partialSpec(c);
    return { kind: "BODY[]", peek: n === "BODY.PEEK", section, ...(partial ? { partial } : {}) };
  }
  if (n === "BINARY" || n === "BINARY.PEEK" || n === "BINARY.SIZE") return binaryAttribute(c, n);
  if (n === "PREVIEW") return previewAttribute(c);
  const simple = SIMPLE[n];
  if (!simple) throw new ParseError(`unknown fetch attribute ${n}`);
  return simple;
}

/** "<" offset "." length ">" after a section, if there is one. */
function partialSpec(c: Cursor): { offset: number; length: number } | undefined {
  if (!c.accept("<")) return undefined;
  const offset = c.number("a partial offset", 4294967295);
  c.expect(".");
  const length = c.nzNumber("a partial length above 0");
  c.expect(">");
  return { offset, length };
}

/** RFC 3516 §6: section-binary = "[" [section-part] "]"; BINARY.SIZE takes no partial. */
function binaryAttribute(c: Cursor, n: "BINARY" | "BINARY.PEEK" | "BINARY.SIZE"): FetchAttribute {
  c.expect("[", `"[" after ${n}`);
  const part: number[] = [];
  while (!c.accept("]")) {
    if (part.length > 0) c.expect(".", `"." or "]" in ${n}[...]`);
    part.push(c.nzNumber("a part number above 0"));
  }
  if (n === "BINARY.SIZE") return { kind: "BINARY.SIZE", part };
  const partial = partialSpec(c);
  return { kind: "BINARY", peek: n === "BINARY.PEEK", part, ...(partial ? { partial } : {}) };
}

/** RFC 8970 §6: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]; LAZY is the one modifier. */
function previewAttribute(c: Cursor): FetchAttribute {
  if (c.rest(2) !== " (") return { kind: "PREVIEW", lazy: false };
  c.expect(" (");
  let lazy = false;
  do {
    const mod = c.atom("a PREVIEW modifier").toUpperCase();
    if (mod !== "LAZY") throw new ParseError(`unknown PREVIEW modifier ${mod}`);
    lazy = true;
  } while (c.accept(" "));
  c.expect(")");
  return { kind: "PREVIEW", lazy };
}

function sectionSpec(c: Cursor): Section {
  const part: number[] = [];
  while (/[0-9]/.test(c.peek())) {
    part.push(c.nzNumber("a part number above 0"));
    if (!c.accept(".")) {
      if (c.peek() !== "]") throw new ParseError(`"." or "]" was expected after a part number${c.near()}`);
      return { part };
    }
  }
  if (c.peek() === "]") {
    if (part.length) throw new ParseError('a part number or HEADER, TEXT or MIME was expected after "."');
    return { part };
  }
  let text = "";
  while (/[A-Za-z.]/.test(c.peek())) {
    text += c.peek();
    c.accept(c.peek());
  }
  text = text.toUpperCase();
  switch (text) {
    case "HEADER":
    case "TEXT":
      return { part, text };
    case "MIME":
      if (part.length === 0) throw new ParseError("MIME needs a part number (e.g. BODY[1.MIME])");
      return { part, text };
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT": {
      c.sp();
      c.expect("(");
      const fields: string[] = [];
      for (;;) {
        fields.push(c.astring("a header field name"));
        if (c.accept(")")) break;
        c.sp();
      }
      return { part, text, fields };
    }
    default:
      throw new ParseError(
        `invalid section "${text}": HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME`,
      );
  }
}
