/**
 * One file of the search index: a batch of SearchDocs, sealed (XChaCha20-Poly1305, subkey
 * "search-index", every piece bound to the file's name and its place in it) in pieces that a
 * search opens only as far as it needs:
 *
 *   "AGSI" | version 4 | then five pieces, each u32 n | n bytes:
 *   sealed meta | sealed signatures | sealed common | sealed headers | bodies
 *
 * - meta: JSON {ids, dates, sizes, sent, bodies}: what every search opens, so kept small.
 * - signatures: per message, the trigram signature of its header text, then of its body text.
 * - common: the fields SEARCH names (Subject, From, To, Cc, Bcc) of every message, and the address
 *   texts FROM, TO, CC and BCC also match (addressTexts.ts), so that those keys open nothing else
 *   and parse nothing; headers: each message's other fields. Each is u32 j | j bytes of JSON (a FieldTable: where each message's record starts,
 *   its fields' names and where their values end, in UTF-16 units) | the UTF-8 of the texts one
 *   after another (searchDoc.ts keeps lone surrogates out, so they come back unchanged).
 * - bodies: message i's whole decoded header block and body text (u32 n | n bytes | the rest),
 *   sealed on its own (path `.../body/<i>`, unpadded: the file never leaves this computer), so
 *   BODY and TEXT decrypt only the messages whose signatures let the needle through.
 *
 * A file that was changed, cut short or sealed for another name fails to open (Tampered or
 * WrongContext); the index then throws it away with the rest and builds again (searchIndex.ts).
 */
import { closeSync, fstatSync, openSync, read, readSync } from "node:fs";
import { open, seal, type SealContext } from "../../crypto/aead.ts";
import { Tampered } from "../../errors.ts";
import { ADDRESS_FIELDS, addressField, type AddressField } from "./addressTexts.ts";
import type { SearchDoc } from "./searchDoc.ts";
import type { SearchFacts } from "./searchFacts.ts";
import { mayContain } from "./trigramSignature.ts";

const MAGIC = "AGSI";
/** 5: the address texts of From, To, Cc and Bcc are kept in the common piece. */
const VERSION = 5;
const SECTIONS = ["meta", "signatures", "common", "headers", "bodies"] as const;
type Section = (typeof SECTIONS)[number];
/**
 * The header fields SEARCH has keys for (RFC 3501 §6.4.4) and the address texts of four of them,
 * kept apart from the other fields.
 */
const COMMON = new Set<string>(["subject", ...ADDRESS_FIELDS, ...ADDRESS_FIELDS.map(addressField)]);

const context = (name: string, section: string): SealContext => ({
  purpose: "search-index",
  path: `search-index/${name}/${section}`,
});

/** Header texts of a section: per message, where its record starts, its fields' names and ends. */
interface FieldTable {
  /** Start of each message's record (and the end of the last). */
  starts: number[];
  /** Per message: the end of each field's value, relative to its start. */
  ends: number[][];
  names: string[][];
}

interface SegmentMeta {
  ids: string[];
  dates: number[];
  sizes: number[];
  sent: number[];
  /** Where each message's sealed body starts in the bodies section (and the last ends). */
  bodies: number[];
  /** The size of each message's body and header signatures (header first in the piece). */
  sigBytes: number[];
  hsigBytes: number[];
}

/** A header piece, opened: its table and its text. */
interface HeaderPiece {
  table: FieldTable;
  text: string;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function table(): FieldTable {
  return { starts: [], ends: [], names: [] };
}

/** Adds one message's record (its fields) to a table and its texts. */
function addRecord(t: FieldTable, texts: string[], at: number, fields: [string, string][]): number {
  t.starts.push(at);
  const ends: number[] = [];
  let end = 0;
  const names: string[] = [];
  for (const [name, value] of fields) {
    texts.push(value);
    end += value.length;
    ends.push(end);
    names.push(name);
  }
  t.ends.push(ends);
  t.names.push(names);
  return at + end;
}

/** The bytes of a segment file named `name` holding `docs`. */
export function encodeSegment(key: Uint8Array, name: string, docs: readonly SearchDoc[]): Uint8Array {
  const meta: SegmentMeta = {
    ids: [],
    dates: [],
    sizes: [],
    sent: [],
    bodies: [],
    sigBytes: [],
    hsigBytes: [],
  };
  const commonTable = table();
  const headerTable = table();
  const commonTexts: string[] = [];
  const headerTexts: string[] = [];
  const bodies: Uint8Array[] = [];
  let c = 0;
  let h = 0;
  let b = 0;
  docs.forEach((doc, i) => {
    meta.ids.push(doc.id);
    meta.dates.push(doc.internalDate);
    meta.sizes.push(doc.size);
    meta.sent.push(doc.sentDay);
    const common: [string, string][] = [];
    const other: [string, string][] = [];
    for (let k = 0; k < doc.fields.length; k += 2)
      (COMMON.has(doc.fields[k]!) ? common : other).push([doc.fields[k]!, doc.fields[k + 1]!]);
    c = addRecord(commonTable, commonTexts, c, common);
    h = addRecord(headerTable, headerTexts, h, other);
    const header = Buffer.from(doc.headerText);
    const text = Buffer.concat([u32(header.length), header, Buffer.from(doc.bodyText)]);
    const body = seal(key, text, context(name, `body/${i}`), { exact: true });
    meta.bodies.push(b);
    meta.sigBytes.push(doc.signature.length);
    meta.hsigBytes.push(doc.headerSignature.length);
    bodies.push(body);
    b += body.length;
  });
  commonTable.starts.push(c);
  headerTable.starts.push(h);
  meta.bodies.push(b);
  const sealed = (section: Section, plain: Uint8Array) => seal(key, plain, context(name, section));
  const headerPiece = (t: FieldTable, texts: string[]) => {
    const json = Buffer.from(JSON.stringify(t));
    return Buffer.concat([u32(json.length), json, Buffer.from(texts.join(""))]);
  };
  const parts: Uint8Array[] = [Buffer.from(MAGIC), Buffer.from([VERSION])];
  for (const piece of [
    sealed("meta", Buffer.from(JSON.stringify(meta))),
    sealed("signatures", Buffer.concat(docs.flatMap((d) => [d.headerSignature, d.signature]))),
    sealed("common", headerPiece(commonTable, commonTexts)),
    sealed("headers", headerPiece(headerTable, headerTexts)),
    Buffer.concat(bodies),
  ])
    parts.push(u32(piece.length), piece);
  return Buffer.concat(parts);
}

const HEAD = MAGIC.length + 1;

/** A segment file opened for reading: its meta at once, the rest when first asked for. */
export class Segment {
  private cursor: SegmentFacts | undefined;
  /** The pieces once opened, for answers without a promise. */
  opened: { common?: HeaderPiece; headers?: HeaderPiece; sigs?: { bytes: Uint8Array; starts: number[] } } =
    {};
  private commonPiece: Promise<HeaderPiece> | undefined;
  private headerPiece: Promise<HeaderPiece> | undefined;
  private signatures: Promise<{ bytes: Uint8Array; starts: number[] }> | undefined;

  private constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly key: Uint8Array,
    readonly name: string,
    readonly meta: SegmentMeta,
    private readonly at: Record<Section, { start: number; length: number }>,
  ) {}

  /**
   * Opens the file and its meta. The layout and the pieces a header search needs are read
   * synchronously: a few small reads of a local file (tens of microseconds each in the page cache),
   * where a round trip through libuv's thread pool each cost milliseconds on a busy machine and a
   * SUBJECT search made ~11 of them per file.
   */
  static async open(path: string, name: string, key: Uint8Array): Promise<Segment> {
    return Segment.openSync(path, name, key);
  }

  private static openSync(path: string, name: string, key: Uint8Array): Segment {
    const fd = openSync(path, "r");
    try {
      const { size } = fstatSync(fd);
      const head = readAtSync(fd, 0, HEAD, size);
      if (Buffer.from(head.subarray(0, 4)).toString("latin1") !== MAGIC || head[4] !== VERSION)
        throw new Tampered(`the search index file ${path} is not one this build writes`);
      const at = {} as Record<Section, { start: number; length: number }>;
      let pos = HEAD;
      for (const section of SECTIONS) {
        const length = Buffer.from(readAtSync(fd, pos, 4, size)).readUInt32BE(0);
        at[section] = { start: pos + 4, length };
        pos += 4 + length;
      }
      if (pos !== size) throw new Tampered(`the search index file ${path} has ${size - pos} bytes too many`);
      const sealedMeta = readAtSync(fd, at.meta.start, at.meta.length, size);
      const meta = JSON.parse(
        Buffer.from(open(key, sealedMeta, context(name, "meta"))).toString("utf8"),
      ) as SegmentMeta;
      if (meta.bodies.at(-1) !== at.bodies.length)
        throw new Tampered(`the search index file ${path} does not hold the bodies its meta lists`);
      return new Segment(fd, size, key, name, meta, at);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  get ids(): readonly string[] {
    return this.meta.ids;
  }

  common(): Promise<HeaderPiece> {
    this.commonPiece ??= this.header("common").then((p) => (this.opened.common = p));
    return this.commonPiece;
  }

  headers(): Promise<HeaderPiece> {
    this.headerPiece ??= this.header("headers").then((p) => (this.opened.headers = p));
    return this.headerPiece;
  }

  private async piece(section: Section): Promise<Buffer> {
    const { start, length } = this.at[section];
    const sealed = await readAt(this.fd, start, length, this.size);
    const plain = open(this.key, sealed, context(this.name, section));
    return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  }

  private async header(section: "common" | "headers"): Promise<HeaderPiece> {
    const plain = await this.piece(section);
    const j = plain.readUInt32BE(0);
    return {
      table: JSON.parse(plain.toString("utf8", 4, 4 + j)) as FieldTable,
      text: plain.toString("utf8", 4 + j),
    };
  }

  /** The signatures, cut by the text sizes they were made for (trigramSignature.ts). */
  sigs(): Promise<{ bytes: Uint8Array; starts: number[] }> {
    this.signatures ??= this.piece("signatures").then((bytes) => {
      const starts = [0];
      // Per message: its header signature, then its body signature.
      for (let i = 0; i < this.meta.ids.length; i++)
        starts.push(
          starts.at(-1)! + this.meta.hsigBytes[i]!,
          starts.at(-1)! + this.meta.hsigBytes[i]! + this.meta.sigBytes[i]!,
        );
      if (starts.at(-1) !== bytes.length) throw new Tampered(`${this.name}: the signatures do not add up`);
      return (this.opened.sigs = { bytes, starts });
    });
    return this.signatures;
  }

  /** Message i's header and body texts: its sealed bytes alone are read and opened. */
  async texts(i: number): Promise<{ header: string; body: string }> {
    const from = this.meta.bodies[i]!;
    const length = this.meta.bodies[i + 1]! - from;
    const sealed = await readAt(this.fd, this.at.bodies.start + from, length, this.size);
    const opened = open(this.key, sealed, context(this.name, `body/${i}`));
    const plain = Buffer.from(opened.buffer, opened.byteOffset, opened.byteLength);
    const h = plain.readUInt32BE(0);
    return { header: plain.toString("utf8", 4, 4 + h), body: plain.toString("utf8", 4 + h) };
  }

  /**
   * The facts of message `i`; its texts are opened when first asked for. One object per segment,
   * moved from message to message (a search awaits each message before the next): 10,000
   * messages then make no garbage of their own.
   */
  facts(i: number): SearchFacts {
    this.cursor ??= new SegmentFacts(this);
    return this.cursor.at(i);
  }

  /**
   * Messages whose record of the piece holding header `field` contains `needle` (lower-cased, not
   * empty) somewhere: a superset of those with a value of `field` holding it, and of those with an
   * address text holding it (kept in the same record). One indexOf pass over the piece's text.
   */
  async candidates(field: string, needle: string): Promise<Uint8Array> {
    const { table: t, text } = COMMON.has(field) ? await this.common() : await this.headers();
    const n = this.meta.ids.length;
    const out = new Uint8Array(n);
    let i = 0;
    for (let p = text.indexOf(needle); p !== -1; p = text.indexOf(needle, p + 1)) {
      while (i < n && t.starts[i + 1]! <= p) i++;
      for (let j = i; j < n && t.starts[j]! < p + needle.length; j++) out[j] = 1;
    }
    return out;
  }

  /** The docs again, for merging segments. */
  async docs(): Promise<SearchDoc[]> {
    const common = await this.common();
    const headers = await this.headers();
    const { bytes, starts } = await this.sigs();
    const m = this.meta;
    const out: SearchDoc[] = [];
    for (let i = 0; i < m.ids.length; i++) {
      const { header, body } = await this.texts(i);
      out.push({
        id: m.ids[i]!,
        internalDate: m.dates[i]!,
        size: m.sizes[i]!,
        sentDay: m.sent[i]!,
        headerText: header,
        fields: [...fieldsOf(common, i), ...fieldsOf(headers, i)],
        bodyText: body,
        headerSignature: bytes.slice(starts[2 * i], starts[2 * i + 1]),
        signature: bytes.slice(starts[2 * i + 1], starts[2 * i + 2]),
      });
    }
    return out;
  }

  close(): Promise<void> {
    closeSync(this.fd);
    return Promise.resolve();
  }
}

/** A message of a segment as SEARCH sees it; `at` moves it to another message. */
class SegmentFacts implements SearchFacts {
  size = 0;
  internalDate = 0;
  private i = 0;
  private texts: Promise<{ header: string; body: string }> | undefined;

  constructor(private readonly seg: Segment) {}

  at(i: number): this {
    this.i = i;
    this.size = this.seg.meta.sizes[i]!;
    this.internalDate = this.seg.meta.dates[i]!;
    this.texts = undefined;
    return this;
  }

  sentDay(): number {
    return this.seg.meta.sent[this.i]!;
  }

  headerValues(field: string): string[] | Promise<string[]> {
    // A name starting with NUL is the index's own (addressField), never a header's.
    return field.startsWith("\0") ? [] : this.values(field.toLowerCase());
  }

  addressTexts(field: AddressField): string[] | Promise<string[]> {
    return this.values(addressField(field));
  }

  private values(wanted: string): string[] | Promise<string[]> {
    const i = this.i;
    const common = COMMON.has(wanted);
    const piece = common ? this.seg.opened.common : this.seg.opened.headers;
    if (piece) return values(piece, i, wanted);
    return (common ? this.seg.common() : this.seg.headers()).then((p) => values(p, i, wanted));
  }

  headerText(): Promise<string> {
    return (this.texts ??= this.seg.texts(this.i)).then((t) => t.header);
  }

  bodyText(): Promise<string> {
    return (this.texts ??= this.seg.texts(this.i)).then((t) => t.body);
  }

  headerMayContain(needle: string): boolean | Promise<boolean> {
    return this.mayContain(0, needle);
  }

  bodyMayContain(needle: string): boolean | Promise<boolean> {
    return this.mayContain(1, needle);
  }

  /** Signature k (0: header, 1: body) of this message against `needle`. */
  private mayContain(k: 0 | 1, needle: string): boolean | Promise<boolean> {
    const i = this.i;
    const check = ({ bytes, starts }: { bytes: Uint8Array; starts: number[] }) =>
      mayContain(bytes.subarray(starts[2 * i + k], starts[2 * i + k + 1]), needle);
    const sigs = this.seg.opened.sigs;
    return sigs ? check(sigs) : this.seg.sigs().then(check);
  }
}

/** Values of field `wanted` in message i's record. */
function values({ table: t, text }: HeaderPiece, i: number, wanted: string): string[] {
  const names = t.names[i]!;
  const ends = t.ends[i]!;
  const start = t.starts[i]!;
  const out: string[] = [];
  for (let k = 0; k < names.length; k++) {
    if (names[k] !== wanted) continue;
    const from = k === 0 ? 0 : ends[k - 1]!;
    out.push(text.slice(start + from, start + ends[k]!));
  }
  return out;
}

function fieldsOf({ table: t, text }: HeaderPiece, i: number): string[] {
  const out: string[] = [];
  const start = t.starts[i]!;
  const ends = t.ends[i]!;
  t.names[i]!.forEach((name, k) => {
    const from = k === 0 ? 0 : ends[k - 1]!;
    out.push(name, text.slice(start + from, start + ends[k]!));
  });
  return out;
}

/** Pieces up to this size are read synchronously (see Segment.open); larger ones in the thread pool. */
const SYNC_READ_MAX = 256 * 1024;

function readAtSync(fd: number, position: number, length: number, size: number): Uint8Array {
  if (position + length > size) throw new Tampered("a search index file is cut short");
  const buf = Buffer.alloc(length);
  if (readSync(fd, buf, 0, length, position) !== length)
    throw new Tampered("a search index file is cut short");
  return buf;
}

async function readAt(fd: number, position: number, length: number, size: number): Promise<Uint8Array> {
  if (length <= SYNC_READ_MAX) return readAtSync(fd, position, length, size);
  if (position + length > size) throw new Tampered("a search index file is cut short");
  const buf = Buffer.alloc(length);
  const bytesRead = await new Promise<number>((resolve, reject) =>
    read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
  if (bytesRead !== length) throw new Tampered("a search index file is cut short");
  return buf;
}
