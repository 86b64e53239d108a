/**
 * Header field values of a search index file's messages (segmentFile.ts), laid out so that a
 * search uses them as they come out of the AEAD: no JSON to parse, no text to decode.
 *
 *   u32 mark | u32 n | u32 k | u32 j          (mark: 0x01020304, in this machine's byte order)
 *   u32 first[n + 1]    message i's entries are first[i] .. first[i + 1] - 1
 *   u32 end[k]          where entry e's value ends in the text (it starts where e - 1's ends)
 *   u32 name[k]         entry e's field name, as a place in the names list
 *   j bytes             the names list, JSON
 *   the rest            the UTF-8 of every value, one after another
 *
 * A header search looks for the needle's UTF-8 in the bytes (`candidates`): UTF-8 is
 * self-synchronising, so a byte match is a match of the same characters, and values hold no lone
 * surrogate (searchDoc.ts), so the bytes say exactly what the strings say. Only the values of the
 * messages a search then evaluates are decoded (`values`). The file never leaves this computer:
 * the typed arrays take this machine's byte order, and a file from a machine of the other order
 * does not open (its mark reads differently) and is built again like a damaged one.
 */
import { Tampered } from "../../errors.ts";

const MARK = 0x01020304;
const HEAD = 16;

/** Per message, its fields as (name, value). */
export type FieldRecords = readonly (readonly (readonly [string, string])[])[];

export function encodeFieldPiece(records: FieldRecords): Uint8Array {
  const names: string[] = [];
  const nameAt = new Map<string, number>();
  const values: string[] = [];
  const first = new Uint32Array(records.length + 1);
  const nameOf: number[] = [];
  const ends: number[] = [];
  let end = 0;
  records.forEach((fields, i) => {
    first[i] = values.length;
    for (const [name, value] of fields) {
      let at = nameAt.get(name);
      if (at === undefined) {
        at = names.length;
        names.push(name);
        nameAt.set(name, at);
      }
      end += Buffer.byteLength(value);
      values.push(value);
      ends.push(end);
      nameOf.push(at);
    }
  });
  first[records.length] = values.length;
  const k = values.length;
  const namesJson = Buffer.from(JSON.stringify(names));
  // u32 names, not u16: a message may carry any number of distinct field names.
  const out = Buffer.alloc(HEAD + first.byteLength + 8 * k + namesJson.length + end);
  const head = new Uint32Array(out.buffer, out.byteOffset, 4);
  head.set([MARK, records.length, k, namesJson.length]);
  let at = HEAD;
  out.set(new Uint8Array(first.buffer), at);
  at += first.byteLength;
  out.set(new Uint8Array(Uint32Array.from(ends).buffer), at);
  at += 4 * k;
  out.set(new Uint8Array(Uint32Array.from(nameOf).buffer), at);
  at += 4 * k;
  out.set(namesJson, at);
  at += namesJson.length;
  out.write(values.join(""), at, "utf8");
  return out;
}

/** Typed arrays need aligned offsets: a view when the bytes are aligned, else a copy. */
function u32s(bytes: Uint8Array, at: number, count: number): Uint32Array {
  const offset = bytes.byteOffset + at;
  return offset % 4 === 0
    ? new Uint32Array(bytes.buffer, offset, count)
    : new Uint32Array(bytes.slice(at, at + 4 * count).buffer);
}

/** A field piece as opened: views over its plaintext. */
export class FieldPiece {
  private constructor(
    readonly count: number,
    private readonly first: Uint32Array,
    private readonly end: Uint32Array,
    private readonly name: Uint32Array,
    private readonly names: readonly string[],
    private readonly text: Buffer,
  ) {}

  /** The piece in `plain` (an opened AEAD, so only a bug or another byte order fails here). */
  static decode(plain: Uint8Array, where: string): FieldPiece {
    const bad = (what: string) => new Tampered(`${where}: ${what}`);
    if (plain.length < HEAD) throw bad("cut short");
    const head = u32s(plain, 0, 4);
    const n = head[1]!;
    const k = head[2]!;
    const j = head[3]!;
    if (head[0] !== MARK) throw bad("written on a machine of another byte order");
    const endsAt = HEAD + 4 * (n + 1);
    const namesAt = endsAt + 8 * k;
    const textAt = namesAt + j;
    if (textAt > plain.length) throw bad("cut short");
    const first = u32s(plain, HEAD, n + 1);
    const end = u32s(plain, endsAt, k);
    const name = u32s(plain, endsAt + 4 * k, k);
    const names = JSON.parse(
      Buffer.from(plain.buffer, plain.byteOffset + namesAt, j).toString("utf8"),
    ) as unknown;
    const text = Buffer.from(plain.buffer, plain.byteOffset + textAt, plain.length - textAt);
    if (!Array.isArray(names) || first[n] !== k || (k > 0 ? end[k - 1] : 0) !== text.length)
      throw bad("its field table does not add up");
    return new FieldPiece(n, first, end, name, names as string[], text);
  }

  /** Where message i's values start in the text (i = count: the end of the text). */
  private startOf(i: number): number {
    const e = this.first[i]!;
    return e === 0 ? 0 : this.end[e - 1]!;
  }

  /**
   * Sets out[i] to 1 for each message i whose values, one after another, hold `needle` (UTF-8, not
   * empty): a superset of the messages with a value holding it.
   */
  candidates(needle: Uint8Array, out: Uint8Array): void {
    const n = this.count;
    let i = 0;
    let p = this.text.indexOf(needle);
    while (p !== -1) {
      while (i < n && this.startOf(i + 1) <= p) i++;
      if (i >= n) return;
      const next = this.startOf(i + 1);
      if (p + needle.length <= next) {
        out[i] = 1;
        // Message i is decided: go on from the next message's values.
        p = this.text.indexOf(needle, next);
      } else p = this.text.indexOf(needle, p + 1);
    }
  }

  /** The values of field `wanted` (lower-cased) in message i's record, in order. */
  values(i: number, wanted: string): string[] {
    const out: string[] = [];
    const stop = this.first[i + 1]!;
    for (let e = this.first[i]!; e < stop; e++)
      if (this.names[this.name[e]!] === wanted)
        out.push(this.text.toString("utf8", e === 0 ? 0 : this.end[e - 1]!, this.end[e]));
    return out;
  }

  /** Message i's fields as name, value, name, value... (for a merge). */
  fields(i: number): string[] {
    const out: string[] = [];
    const stop = this.first[i + 1]!;
    for (let e = this.first[i]!; e < stop; e++)
      out.push(
        this.names[this.name[e]!]!,
        this.text.toString("utf8", e === 0 ? 0 : this.end[e - 1]!, this.end[e]),
      );
    return out;
  }
}
