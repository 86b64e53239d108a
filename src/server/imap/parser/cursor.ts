/**
 * Reads the tokens of one framed command: its text pieces (one char per byte, latin1) with the
 * literals that came between them. Atoms, quoted strings, literals, astrings, parenthesised lists
 * and numbers (RFC 3501 §9). Every method throws ParseError with what was expected.
 */
import { ParseError } from "./parseError.ts";

/** A literal's part; `literal8` when it was sent as `~{n}` (RFC 3516: binary, NUL allowed). */
export type FramePart =
  { kind: "text"; text: string } | { kind: "literal"; bytes: Buffer; literal8?: boolean };

/** atom-specials of RFC 3501 §9 (plus CTL and 8-bit); ']' is allowed in astrings only. */
const ATOM_CHAR = /[^(){ %*"\\\]\x00-\x1f\x7f-\xff]/;
/** 8-bit bytes are accepted in astrings: clients send UTF-8 unquoted (SEARCH CHARSET UTF-8 ...). */
const ASTRING_CHAR = /[^(){ %*"\\\x00-\x1f\x7f]/;
const LIST_CHAR = /[^(){ "\\\]\x00-\x1f\x7f]/;

export class Cursor {
  private part = 0;
  private pos = 0;

  /** `utf8Names`: mailbox names are UTF-8 as they are, not modified UTF-7 (mailboxArg.ts). */
  constructor(
    private readonly parts: FramePart[],
    readonly utf8Names = false,
  ) {}

  private get text(): string | undefined {
    const p = this.parts[this.part];
    return p?.kind === "text" ? p.text : undefined;
  }

  /** The next char of the text, "" at the end of a text piece (a literal or the end follows). */
  peek(): string {
    return this.text?.[this.pos] ?? "";
  }

  private advanceIfTextDone(): void {
    const t = this.text;
    if (t !== undefined && this.pos >= t.length && this.parts[this.part + 1]) {
      this.part++;
      this.pos = 0;
    }
  }

  /** Whether a literal is the next token. */
  atLiteral(): boolean {
    const t = this.text;
    if (t !== undefined && this.pos < t.length) return false;
    const next = t === undefined ? this.parts[this.part] : this.parts[this.part + 1];
    return next?.kind === "literal";
  }

  /** Whether the next token is a literal8 (`~{n}`, RFC 3516). */
  atLiteral8(): boolean {
    if (!this.atLiteral()) return false;
    const next = this.text === undefined ? this.parts[this.part] : this.parts[this.part + 1];
    return next?.kind === "literal" && next.literal8 === true;
  }

  atEnd(): boolean {
    const t = this.text;
    return t !== undefined && this.pos >= t.length && this.part === this.parts.length - 1;
  }

  end(): void {
    if (!this.atEnd()) throw new ParseError(`unexpected text at the end of the command: "${this.rest(20)}"`);
  }

  rest(n: number): string {
    return (this.text ?? "").slice(this.pos, this.pos + n);
  }

  expect(s: string, what = `"${s}"`): void {
    const t = this.text ?? "";
    if (t.slice(this.pos, this.pos + s.length).toUpperCase() !== s.toUpperCase()) {
      throw new ParseError(`${what} was expected${this.near()}`);
    }
    this.pos += s.length;
  }

  /** Consumes `s` (any case) when it comes next; false otherwise. */
  accept(s: string): boolean {
    const t = this.text ?? "";
    if (t.slice(this.pos, this.pos + s.length).toUpperCase() !== s.toUpperCase()) return false;
    this.pos += s.length;
    return true;
  }

  sp(): void {
    this.expect(" ", "a space");
  }

  near(): string {
    const r = this.rest(16);
    return r ? ` near "${r}"` : this.atLiteral() ? " before a literal" : " at the end of the line";
  }

  private run(allowed: RegExp): string {
    const t = this.text ?? "";
    const start = this.pos;
    while (this.pos < t.length && allowed.test(t[this.pos]!)) this.pos++;
    return t.slice(start, this.pos);
  }

  atom(what = "an atom"): string {
    const a = this.run(ATOM_CHAR);
    if (!a) throw new ParseError(`${what} was expected${this.near()}`);
    return a;
  }

  /** Digits as a number (RFC 3501 number / RFC 7162 mod-sequence-value: up to 2^63-1). */
  number(what = "a number", max = Number.MAX_SAFE_INTEGER): number {
    const d = this.run(/[0-9]/);
    if (!d) throw new ParseError(`${what} was expected${this.near()}`);
    const n = Number(d);
    if (n > max) throw new ParseError(`${what} is too large: ${d}`);
    return n;
  }

  nzNumber(what = "a number above 0"): number {
    const n = this.number(what, 4294967295);
    if (n === 0) throw new ParseError(`${what} was expected, got 0`);
    return n;
  }

  /** A quoted string's or literal's bytes. */
  stringBytes(what = "a string"): Buffer {
    if (this.atLiteral()) {
      if (this.atLiteral8()) throw new ParseError(`${what} cannot be a literal8 (~{n})`);
      const bytes = this.literal();
      // RFC 3501 §9: a literal is CHAR8 (no NUL); only APPEND's message, read apart, may differ.
      if (bytes.includes(0)) throw new ParseError(`${what} cannot hold a NUL byte`);
      return bytes;
    }
    if (this.peek() === '"') return this.quoted();
    throw new ParseError(`${what} was expected${this.near()}`);
  }

  literal(): Buffer {
    this.advanceIfTextDone();
    const p = this.parts[this.part];
    if (p?.kind !== "literal") throw new ParseError(`a literal was expected${this.near()}`);
    this.part++;
    this.pos = 0;
    return p.bytes;
  }

  private quoted(): Buffer {
    const t = this.text ?? "";
    let i = this.pos + 1;
    let out = "";
    while (i < t.length) {
      const c = t[i]!;
      if (c === '"') {
        this.pos = i + 1;
        return Buffer.from(out, "latin1");
      }
      if (c === "\\") {
        const n = t[i + 1];
        if (n !== "\\" && n !== '"')
          throw new ParseError(`a quoted string may escape only \\ and " (near "${t.slice(i, i + 8)}")`);
        out += n;
        i += 2;
        continue;
      }
      if (c === "\r" || c === "\n" || c === "\0")
        throw new ParseError("a quoted string cannot hold CR, LF or NUL");
      out += c;
      i++;
    }
    throw new ParseError("a quoted string is not terminated");
  }

  /** astring (RFC 3501 §9): atom with ']' allowed, quoted string or literal; as UTF-8 text. */
  astring(what = "a string"): string {
    if (this.atLiteral() || this.peek() === '"') return this.stringBytes(what).toString("utf8");
    const a = this.run(ASTRING_CHAR);
    if (!a) throw new ParseError(`${what} was expected${this.near()}`);
    return Buffer.from(a, "latin1").toString("utf8");
  }

  /** list-mailbox: like astring, and * and % are allowed unquoted. */
  listMailbox(): string {
    if (this.atLiteral() || this.peek() === '"')
      return this.stringBytes("a mailbox pattern").toString("utf8");
    const a = this.run(LIST_CHAR);
    if (!a) throw new ParseError(`a mailbox pattern was expected${this.near()}`);
    return Buffer.from(a, "latin1").toString("utf8");
  }

  /** NIL or a string. */
  nstring(): string | null {
    const t = this.text ?? "";
    if (t.slice(this.pos, this.pos + 3).toUpperCase() === "NIL" && !ATOM_CHAR.test(t[this.pos + 3] ?? " ")) {
      this.pos += 3;
      return null;
    }
    return this.stringBytes().toString("utf8");
  }

  /** Chars up to (not including) a space, a ')' or the end: for sequence sets and similar. */
  word(what: string): string {
    const w = this.run(/[^ ()\x00-\x1f]/);
    if (!w) throw new ParseError(`${what} was expected${this.near()}`);
    return w;
  }
}
