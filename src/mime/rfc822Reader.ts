/**
 * A reader of RFC 5322 / RFC 2045 tokens over a raw header value, reading malformed input the way
 * Dovecot 2.3 does (lib-mail's rfc822-parser), because our BODYSTRUCTURE and ENVELOPE must equal
 * Dovecot's byte for byte. Methods return 1 when more input follows, 0 at its end, -1 on a syntax
 * error, and append what they read to the `out` array of strings.
 */
import type { ByteString } from "./types.ts";

/** 0: not atext; 1: atext; 2: letters, digits and 8-bit; 4: atext that is a MIME tspecial (/ = ?). */
const ATEXT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80)
    ATEXT[c] = 2;
}
for (const ch of "!#$%&'*+-^_`{|}~") ATEXT[ch.charCodeAt(0)] = 1;
for (const ch of "/=?") ATEXT[ch.charCodeAt(0)] = 4;

export function isAtext(c: number): boolean {
  return c >= 0 && ATEXT[c] !== 0;
}

/** RFC 2045 token characters: atext without the tspecials "/", "=" and "?". */
function isMimeTokenChar(c: number): boolean {
  return (ATEXT[c]! & 3) !== 0 || c === 0x2e;
}

const SP = 0x20,
  TAB = 0x09,
  CR = 0x0d,
  LF = 0x0a;

export class Rfc822Reader {
  pos = 0;
  readonly end: number;
  /** When set, the text of the last comment skipped (RFC 5322 §3.2.2), used as a display name. */
  lastComment: string | null;

  constructor(
    readonly data: ByteString,
    keepComments = false,
  ) {
    this.end = data.length;
    this.lastComment = keepComments ? "" : null;
  }

  at(): number {
    return this.pos < this.end ? this.data.charCodeAt(this.pos) : -1;
  }

  skipComment(): number {
    let level = 1;
    if (this.lastComment !== null) this.lastComment = "";
    let start = ++this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 0x28) level++;
      else if (c === 0x29) {
        if (--level === 0) {
          if (this.lastComment !== null) this.lastComment += this.data.slice(start, this.pos);
          this.pos++;
          return this.pos < this.end ? 1 : 0;
        }
      } else if (c === 0x5c) {
        if (this.lastComment !== null) this.lastComment += this.data.slice(start, this.pos);
        start = this.pos + 1;
        this.pos++;
        if (this.pos >= this.end) return -1;
      }
    }
    return -1; // missing ")"
  }

  /** Skips whitespace, line breaks and comments. */
  skipLwsp(): number {
    while (this.pos < this.end) {
      const c = this.data.charCodeAt(this.pos);
      if (c === SP || c === TAB || c === CR || c === LF) {
        this.pos++;
        continue;
      }
      if (c !== 0x28) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.pos < this.end ? 1 : 0;
  }

  atom(out: string[]): number {
    if (!isAtext(this.at())) return -1;
    const start = this.pos++;
    while (this.pos < this.end && isAtext(this.data.charCodeAt(this.pos))) this.pos++;
    out.push(this.data.slice(start, this.pos));
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** dot-atom, allowing whitespace around the dots as RFC 822 did. */
  dotAtom(out: string[]): number {
    if (!isAtext(this.at())) return -1;
    let start = this.pos++;
    while (this.pos < this.end) {
      if (isAtext(this.data.charCodeAt(this.pos))) {
        this.pos++;
        continue;
      }
      out.push(this.data.slice(start, this.pos));
      let ret = this.skipLwsp();
      if (ret <= 0) return ret;
      if (this.at() !== 0x2e) return 1;
      this.pos++;
      out.push(".");
      ret = this.skipLwsp();
      if (ret <= 0) return ret;
      start = this.pos;
    }
    out.push(this.data.slice(start, this.pos));
    return 0;
  }

  /** A MIME token (may be empty), then whitespace and comments. */
  mimeToken(out: string[]): number {
    const start = this.pos;
    while (this.pos < this.end && isMimeTokenChar(this.data.charCodeAt(this.pos))) this.pos++;
    out.push(this.data.slice(start, this.pos));
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** A quoted string at "\"": unescapes quoted pairs and drops the line breaks of folding. */
  quotedString(out: string[]): number {
    this.pos++;
    let start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 0x22) {
        out.push(this.data.slice(start, this.pos));
        this.pos++;
        return this.skipLwsp();
      }
      if (c === LF) {
        let len = this.pos - start;
        if (len > 0 && this.data.charCodeAt(start + len - 1) === CR) len--;
        out.push(this.data.slice(start, start + len));
        start = this.pos + 1;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) return -1;
        out.push(this.data.slice(start, this.pos - 1));
        start = this.pos;
      }
    }
    return -1; // missing closing quote
  }

  private atomOrDot(out: string[]): number {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.data.charCodeAt(this.pos);
      if (!isAtext(c) && c !== 0x2e) break;
      this.pos++;
    }
    out.push(this.data.slice(start, this.pos));
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** phrase / obs-phrase: words joined by single spaces. */
  phrase(out: string[]): number {
    if (this.pos >= this.end) return 0;
    if (this.at() === 0x2e) return -1;
    for (;;) {
      const ret = this.at() === 0x22 ? this.quotedString(out) : this.atomOrDot(out);
      if (ret <= 0) return ret;
      const c = this.at();
      if (!isAtext(c) && c !== 0x22 && c !== 0x2e) break;
      out.push(" ");
    }
    return this.skipLwsp();
  }

  private domainLiteral(out: string[]): number {
    const start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) break;
      } else if (c === 0x5d) {
        this.pos++;
        out.push(this.data.slice(start, this.pos));
        return this.skipLwsp();
      }
    }
    return -1; // missing "]"
  }

  /** domain at "@". */
  domain(out: string[]): number {
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    return this.at() === 0x5b ? this.domainLiteral(out) : this.dotAtom(out);
  }

  /** "type/subtype" as far as it can be read; -1 when malformed. */
  contentType(out: string[]): number {
    if (this.skipLwsp() <= 0) return -1;
    if (this.mimeToken(out) <= 0) return -1;
    if (this.at() !== 0x2f) return -1;
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    out.push("/");
    return this.mimeToken(out);
  }

  /** One `; attribute=value` (RFC 2045 §5.1); 0 at the end of input, -1 when malformed. */
  contentParam(): { ret: number; key: string | null; value: string } {
    if (this.pos >= this.end) return { ret: 0, key: null, value: "" };
    if (this.at() !== 0x3b) return { ret: -1, key: null, value: "" };
    this.pos++;
    if (this.skipLwsp() <= 0) return { ret: -1, key: null, value: "" };
    const key: string[] = [];
    if (this.mimeToken(key) <= 0) return { ret: -1, key: null, value: "" };
    if (this.at() !== 0x3d) return { ret: -1, key: null, value: "" };
    this.pos++;
    const value: string[] = [];
    let ret = this.skipLwsp();
    if (ret <= 0) {
      // no value
    } else if (this.at() === 0x22) {
      ret = this.quotedString(value);
    } else if (this.at() === 0x3d) {
      // broken input such as name==?utf-8?b?...?= is kept whole up to the next separator
      const start = this.pos;
      while (this.pos < this.end) {
        const c = this.data.charCodeAt(this.pos);
        if (c === 0x3b || c === SP || c === TAB || c === CR || c === LF) break;
        this.pos++;
      }
      value.push(this.data.slice(start, this.pos));
    } else {
      ret = this.mimeToken(value);
    }
    return { ret: ret < 0 ? -1 : 1, key: key.join(""), value: value.join("") };
  }
}
