/**
 * One file of the search index: a batch of SearchDocs, sealed (XChaCha20-Poly1305, subkey
 * "search-index", every piece bound to the file's name and its place in it) in pieces that a
 * search opens only as far as it needs:
 *
 *   "AGSI" | version 6 | u32 length of each of the nine pieces | the pieces one after another:
 *   meta | signatures | subject | from | to | cc | bcc | headers | bodies
 *
 * - meta: u32 mark | u32 n | u32 j | u32 0, then f64 dates[n], sent[n], sizes[n], bodies[n + 1],
 *   u32 sigBytes[n], hsigBytes[n], then j bytes of JSON: the ids. What every search opens, so
 *   small and parsed only for the ids.
 * - signatures: per message, the trigram signature of its header text, then of its body text.
 * - subject, from, to, cc, bcc: the values of that field SEARCH has a key for (RFC 3501 §6.4.4),
 *   and for the four address fields the address texts FROM, TO, CC and BCC also match
 *   (addressTexts.ts), so that SUBJECT decrypts the subjects alone and FROM parses nothing;
 *   headers: every other field. Each is a field piece (fieldPiece.ts): offsets and UTF-8 as a
 *   search uses them, no JSON to parse per message.
 * - bodies: message i's whole decoded header block and body text (u32 n | n bytes | the rest),
 *   sealed on its own (path `.../body/<i>`), so BODY and TEXT decrypt only the messages whose
 *   signatures let the needle through.
 *
 * Every piece is sealed unpadded (version 1): the file never leaves this computer, and padding
 * cost a search a scan of up to 64 KiB of zeros per piece. A file that was changed, cut short or
 * sealed for another name fails to open (Tampered or WrongContext); the index then throws it away
 * with the rest and builds again (searchIndex.ts).
 */
import { closeSync, fstatSync, openSync, read, readSync } from "node:fs";
import { open, seal, type SealContext } from "../../crypto/aead.ts";
import { Tampered } from "../../errors.ts";
import { ADDRESS_FIELDS, addressField, type AddressField } from "./addressTexts.ts";
import { encodeFieldPiece, FieldPiece } from "./fieldPiece.ts";
import { LONE_SURROGATE, type SearchDoc } from "./searchDoc.ts";
import type { SearchFacts } from "./searchFacts.ts";
import { mayContain } from "./trigramSignature.ts";

const MAGIC = "AGSI";
/** 6: binary meta and field pieces, one piece per field SEARCH names, unpadded. */
const VERSION = 6;
const FIELD_PIECES = ["subject", ...ADDRESS_FIELDS, "headers"] as const;
type FieldPieceName = (typeof FIELD_PIECES)[number];
const SECTIONS = ["meta", "signatures", ...FIELD_PIECES, "bodies"] as const;
type Section = (typeof SECTIONS)[number];

/** The piece holding the values of field `name` (lower-cased; an address text's NUL name too). */
function pieceOf(name: string): FieldPieceName {
  if (name === "subject") return "subject";
  const bare = name.startsWith("\0") ? name.slice(1) : name;
  return (ADDRESS_FIELDS as readonly string[]).includes(bare) ? (bare as AddressField) : "headers";
}

const context = (name: string, section: string): SealContext => ({
  purpose: "search-index",
  path: `search-index/${name}/${section}`,
});

const META_MARK = 0x01020304;
const META_HEAD = 16;

interface SegmentMeta {
  ids: string[];
  dates: Float64Array;
  sent: Float64Array;
  sizes: Float64Array;
  /** Where each message's sealed body starts in the bodies section (and the last ends). */
  bodies: Float64Array;
  /** The size of each message's body and header signatures (header first in the piece). */
  sigBytes: Uint32Array;
  hsigBytes: Uint32Array;
}

function encodeMeta(docs: readonly SearchDoc[], bodies: readonly number[]): Uint8Array {
  const n = docs.length;
  const ids = Buffer.from(JSON.stringify(docs.map((d) => d.id)));
  const numbers = new Float64Array(4 * n + 1);
  docs.forEach((d, i) => {
    numbers[i] = d.internalDate;
    numbers[n + i] = d.sentDay;
    numbers[2 * n + i] = d.size;
  });
  numbers.set(bodies, 3 * n);
  const sigs = new Uint32Array(2 * n);
  docs.forEach((d, i) => {
    sigs[i] = d.signature.length;
    sigs[n + i] = d.headerSignature.length;
  });
  const head = new Uint32Array([META_MARK, n, ids.length, 0]);
  return Buffer.concat([
    new Uint8Array(head.buffer),
    new Uint8Array(numbers.buffer),
    new Uint8Array(sigs.buffer),
    ids,
  ]);
}

function decodeMeta(plain: Uint8Array, where: string): SegmentMeta {
  const bad = (what: string) => new Tampered(`${where}: ${what}`);
  // A fresh copy: the typed arrays need aligned offsets, and the meta is kept while the file is open.
  const bytes = plain.byteOffset % 8 === 0 ? plain : plain.slice();
  if (bytes.length < META_HEAD) throw bad("cut short");
  const head = new Uint32Array(bytes.buffer, bytes.byteOffset, 3);
  const n = head[1]!;
  const j = head[2]!;
  if (head[0] !== META_MARK) throw bad("written on a machine of another byte order");
  const numbersAt = bytes.byteOffset + META_HEAD;
  const sigsAt = numbersAt + 8 * (4 * n + 1);
  const idsAt = sigsAt + 8 * n;
  if (idsAt - bytes.byteOffset + j !== bytes.length) throw bad("its meta does not add up");
  const f64 = (k: number, count: number) => new Float64Array(bytes.buffer, numbersAt + 8 * k * n, count);
  const ids = JSON.parse(Buffer.from(bytes.buffer, idsAt, j).toString("utf8")) as unknown;
  if (!Array.isArray(ids) || ids.length !== n) throw bad("its ids do not add up");
  return {
    ids: ids as string[],
    dates: f64(0, n),
    sent: f64(1, n),
    sizes: f64(2, n),
    bodies: f64(3, n + 1),
    sigBytes: new Uint32Array(bytes.buffer, sigsAt, n),
    hsigBytes: new Uint32Array(bytes.buffer, sigsAt + 4 * n, n),
  };
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** The bytes of a segment file named `name` holding `docs`. */
export function encodeSegment(key: Uint8Array, name: string, docs: readonly SearchDoc[]): Uint8Array {
  return Buffer.concat(encodeSegmentParts(key, name, docs));
}

/**
 * The same bytes as consecutive parts, to be written one after another (writeAllFully): the file
 * is never joined in memory. A file of 4 Mi characters was joined twice (its bodies, then the
 * whole), ~8 MB held past the encoding until the write and its fsync were done (issue 11).
 */
export function encodeSegmentParts(key: Uint8Array, name: string, docs: readonly SearchDoc[]): Uint8Array[] {
  const records = new Map<FieldPieceName, [string, string][][]>(FIELD_PIECES.map((p) => [p, []]));
  const bodies: Uint8Array[] = [];
  const bodyStarts: number[] = [];
  let b = 0;
  docs.forEach((doc, i) => {
    const fields = new Map<FieldPieceName, [string, string][]>(FIELD_PIECES.map((p) => [p, []]));
    for (let k = 0; k < doc.fields.length; k += 2)
      fields.get(pieceOf(doc.fields[k]!))!.push([doc.fields[k]!, doc.fields[k + 1]!]);
    for (const p of FIELD_PIECES) records.get(p)!.push(fields.get(p)!);
    const header = Buffer.from(doc.headerText);
    const text = Buffer.concat([u32(header.length), header, Buffer.from(doc.bodyText)]);
    const body = seal(key, text, context(name, `body/${i}`), { exact: true });
    bodyStarts.push(b);
    bodies.push(body);
    b += body.length;
  });
  bodyStarts.push(b);
  const sealed = (section: Section, plain: Uint8Array) =>
    seal(key, plain, context(name, section), { exact: true });
  const pieces = [
    sealed("meta", encodeMeta(docs, bodyStarts)),
    sealed("signatures", Buffer.concat(docs.flatMap((d) => [d.headerSignature, d.signature]))),
    ...FIELD_PIECES.map((p) => sealed(p, encodeFieldPiece(records.get(p)!))),
  ];
  return [
    Buffer.from(MAGIC),
    Buffer.from([VERSION]),
    ...pieces.map((piece) => u32(piece.length)),
    u32(b),
    ...pieces,
    ...bodies,
  ];
}

const HEAD = MAGIC.length + 1;

/**
 * A file of another format (an older or a newer build wrote it): rebuilt like a damaged one, but
 * an upgrade is no alarm. The version byte is in clear, so this says nothing of the file's origin.
 */
export class OtherSegmentVersion extends Tampered {}
/** The magic, the version and the pieces' lengths. */
const LAYOUT = HEAD + 4 * SECTIONS.length;

/** A segment file opened for reading: its meta at once, the rest when first asked for. */
export class Segment {
  private cursor: SegmentFacts | undefined;
  /** The field pieces once opened, for answers without a promise. */
  readonly opened = new Map<FieldPieceName, FieldPiece>();
  private readonly opening = new Map<FieldPieceName, Promise<FieldPiece>>();
  sigsOpened: { bytes: Uint8Array; starts: number[] } | undefined;
  private signatures: Promise<{ bytes: Uint8Array; starts: number[] }> | undefined;
  /** Plaintext bytes of the pieces opened so far (kept until dropPieces). */
  private pieceBytes = 0;

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
      // The layout: magic, version and every piece's length, in one read.
      const layout = Buffer.from(readAtSync(fd, 0, Math.min(size, LAYOUT), size));
      if (layout.length >= HEAD && layout.toString("latin1", 0, 4) === MAGIC && layout[4] !== VERSION)
        throw new OtherSegmentVersion(
          `the search index file ${path} is of format ${layout[4]}, and this build writes ${VERSION}`,
        );
      if (layout.length < LAYOUT || layout.toString("latin1", 0, 4) !== MAGIC)
        throw new Tampered(`the search index file ${path} is not one this build writes`);
      const at = {} as Record<Section, { start: number; length: number }>;
      let pos = LAYOUT;
      SECTIONS.forEach((section, k) => {
        const length = layout.readUInt32BE(HEAD + 4 * k);
        at[section] = { start: pos, length };
        pos += length;
      });
      if (pos !== size) throw new Tampered(`the search index file ${path} has ${size - pos} bytes too many`);
      const sealedMeta = readAtSync(fd, at.meta.start, at.meta.length, size);
      const meta = decodeMeta(open(key, sealedMeta, context(name, "meta")), `the search index file ${path}`);
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

  /** The file's size in bytes. */
  get fileBytes(): number {
    return this.size;
  }

  /** The field piece holding `field` (lower-cased), opened once. */
  fieldPiece(field: string): Promise<FieldPiece> {
    return this.openPiece(pieceOf(field));
  }

  private openPiece(p: FieldPieceName): Promise<FieldPiece> {
    let opening = this.opening.get(p);
    if (!opening) {
      opening = this.piece(p).then((plain) => {
        this.pieceBytes += plain.length;
        const piece = FieldPiece.decode(plain, `the search index file ${this.name}, ${p}`);
        if (piece.count !== this.meta.ids.length)
          throw new Tampered(`${this.name}: the ${p} piece does not hold every message`);
        this.opened.set(p, piece);
        return piece;
      });
      this.opening.set(p, opening);
    }
    return opening;
  }

  /** The opened field piece holding `field`, when it is open. */
  openedPiece(field: string): FieldPiece | undefined {
    return this.opened.get(pieceOf(field));
  }

  private async piece(section: Section): Promise<Uint8Array> {
    const { start, length } = this.at[section];
    const sealed = await readAt(this.fd, start, length, this.size);
    return open(this.key, sealed, context(this.name, section));
  }

  /** The signatures, cut by the text sizes they were made for (trigramSignature.ts). */
  sigs(): Promise<{ bytes: Uint8Array; starts: number[] }> {
    this.signatures ??= this.piece("signatures").then((bytes) => {
      this.pieceBytes += bytes.length;
      const starts = [0];
      // Per message: its header signature, then its body signature.
      for (let i = 0; i < this.meta.ids.length; i++)
        starts.push(
          starts.at(-1)! + this.meta.hsigBytes[i]!,
          starts.at(-1)! + this.meta.hsigBytes[i]! + this.meta.sigBytes[i]!,
        );
      if (starts.at(-1) !== bytes.length) throw new Tampered(`${this.name}: the signatures do not add up`);
      return (this.sigsOpened = { bytes, starts });
    });
    return this.signatures;
  }

  /** Message i's header and body texts: its sealed bytes alone are read and opened. */
  async texts(i: number): Promise<{ header: string; body: string }> {
    return decodeTexts(await this.box(i));
  }

  /** Message i's box opened, as stored: u32 length of the header text | its UTF-8 | the body's. */
  async box(i: number): Promise<Buffer> {
    const from = this.meta.bodies[i]!;
    const length = this.meta.bodies[i + 1]! - from;
    const at = this.at.bodies.start + from;
    // Most boxes are read into one reused buffer and opened at once, in the same turn: a BODY
    // search that opens every box allocated (and collected) each one's sealed bytes besides its
    // plaintext.
    const sealed =
      length <= SYNC_READ_MAX
        ? readScratchSync(this.fd, at, length, this.size)
        : await readAt(this.fd, at, length, this.size);
    const opened = open(this.key, sealed, context(this.name, `body/${i}`));
    const plain = Buffer.from(opened.buffer, opened.byteOffset, opened.byteLength);
    if (plain.length < 4 || plain.readUInt32BE(0) > plain.length - 4)
      throw new Tampered(`${this.name}: message ${i}'s texts do not add up`);
    return plain;
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
   * Messages whose values of the piece holding header `field` contain `needle` (lower-cased, not
   * empty) somewhere: a superset of those with a value of `field` holding it, and of those with an
   * address text holding it (kept in the same piece). One byte search over the piece's text.
   */
  async candidates(field: string, needle: string): Promise<Uint8Array> {
    const piece = await this.fieldPiece(field);
    const out = new Uint8Array(this.meta.ids.length);
    piece.candidates(Buffer.from(needle, "utf8"), out);
    return out;
  }

  /** Plaintext bytes the opened pieces hold (the meta aside). */
  get heldBytes(): number {
    return this.pieceBytes;
  }

  /**
   * Forgets the opened pieces (they are read and opened again when next asked for): the index
   * keeps files open across searches, within a bound on what their pieces hold (segmentCache.ts).
   * Only while no search walks this file.
   */
  dropPieces(): void {
    this.opened.clear();
    this.opening.clear();
    this.sigsOpened = undefined;
    this.signatures = undefined;
    this.cursor = undefined;
    this.pieceBytes = 0;
  }

  /** The docs again, for merging segments. */
  async docs(): Promise<SearchDoc[]> {
    const pieces = await Promise.all(FIELD_PIECES.map((p) => this.openPiece(p)));
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
        fields: pieces.flatMap((p) => p.fields(i)),
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

function decodeTexts(plain: Buffer): { header: string; body: string } {
  const h = plain.readUInt32BE(0);
  return { header: plain.toString("utf8", 4, 4 + h), body: plain.toString("utf8", 4 + h) };
}

/** A message of a segment as SEARCH sees it; `at` moves it to another message. */
class SegmentFacts implements SearchFacts {
  size = 0;
  internalDate = 0;
  private i = 0;
  private plain: Promise<Buffer> | undefined;
  private texts: Promise<{ header: string; body: string }> | undefined;
  /** The last needle asked for, and its UTF-8 (one encoding per search, not per message). */
  private needle = "";
  private needleBytes: Buffer = Buffer.alloc(0);

  constructor(private readonly seg: Segment) {}

  at(i: number): this {
    this.i = i;
    this.size = this.seg.meta.sizes[i]!;
    this.internalDate = this.seg.meta.dates[i]!;
    this.plain = undefined;
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
    const piece = this.seg.openedPiece(wanted);
    if (piece) return piece.values(i, wanted);
    return this.seg.fieldPiece(wanted).then((p) => p.values(i, wanted));
  }

  private box(): Promise<Buffer> {
    return (this.plain ??= this.seg.box(this.i));
  }

  private decoded(): Promise<{ header: string; body: string }> {
    return (this.texts ??= this.box().then(decodeTexts));
  }

  headerText(): Promise<string> {
    return this.decoded().then((t) => t.header);
  }

  bodyText(): Promise<string> {
    return this.decoded().then((t) => t.body);
  }

  headerTextHas(needle: string): boolean | Promise<boolean> {
    return this.has(0, needle);
  }

  async bodyHas(needle: string): Promise<boolean> {
    return this.has(1, needle);
  }

  /** Whether text k (0: header, 1: body) holds `needle`: its signature, then its bytes. */
  private has(k: 0 | 1, needle: string): boolean | Promise<boolean> {
    const may = this.mayContain(k, needle);
    if (may === true) return this.textHas(k, needle);
    if (may === false) return false;
    return may.then((m) => m && this.textHas(k, needle));
  }

  /**
   * A byte search of the needle's UTF-8 in the text's, as stored: no string is decoded (decoding
   * every candidate's body was a third of a BODY search's CPU at 10,000 messages). UTF-8 is
   * self-synchronising and the texts hold no lone surrogate (searchDoc.ts), so a byte match is a
   * match of the same characters; a needle holding a lone surrogate (UTF-8 would write it as
   * U+FFFD, which a text may hold) is looked for in the decoded text instead.
   */
  private async textHas(k: 0 | 1, needle: string): Promise<boolean> {
    if (needle === "") return true;
    if (LONE_SURROGATE.test(needle)) {
      const t = await this.decoded();
      return (k === 0 ? t.header : t.body).includes(needle);
    }
    if (needle !== this.needle) {
      this.needle = needle;
      this.needleBytes = Buffer.from(needle, "utf8");
    }
    const plain = await this.box();
    const h = plain.readUInt32BE(0);
    const text = k === 0 ? plain.subarray(4, 4 + h) : plain.subarray(4 + h);
    return text.indexOf(this.needleBytes) >= 0;
  }

  /** Signature k (0: header, 1: body) of this message against `needle`. */
  private mayContain(k: 0 | 1, needle: string): boolean | Promise<boolean> {
    const i = this.i;
    const check = ({ bytes, starts }: { bytes: Uint8Array; starts: number[] }) =>
      mayContain(bytes.subarray(starts[2 * i + k], starts[2 * i + k + 1]), needle);
    const sigs = this.seg.sigsOpened;
    return sigs ? check(sigs) : this.seg.sigs().then(check);
  }
}

/** Pieces up to this size are read synchronously (see Segment.open); larger ones in the thread pool. */
const SYNC_READ_MAX = 256 * 1024;

/** Reads `length` bytes at `position`, into `into` when given (it must hold them), else a new buffer. */
function readAtSync(fd: number, position: number, length: number, size: number, into?: Buffer): Uint8Array {
  if (position + length > size) throw new Tampered("a search index file is cut short");
  const buf = into ?? Buffer.allocUnsafe(length); // filled whole, or thrown away
  if (readSync(fd, buf, 0, length, position) !== length)
    throw new Tampered("a search index file is cut short");
  return buf.subarray(0, length);
}

/** The buffer readScratchSync reads into, grown up to SYNC_READ_MAX. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads like readAtSync into a buffer the next call reuses: only for bytes used up before the
 * caller next awaits (a sealed box opened at once; its plaintext is fresh bytes).
 */
function readScratchSync(fd: number, position: number, length: number, size: number): Uint8Array {
  if (scratch.length < length)
    scratch = Buffer.allocUnsafe(Math.min(SYNC_READ_MAX, Math.max(length, 2 * scratch.length)));
  return readAtSync(fd, position, length, size, scratch);
}

async function readAt(fd: number, position: number, length: number, size: number): Promise<Uint8Array> {
  if (length <= SYNC_READ_MAX) return readAtSync(fd, position, length, size);
  if (position + length > size) throw new Tampered("a search index file is cut short");
  const buf = Buffer.allocUnsafe(length); // filled whole, or thrown away
  const bytesRead = await new Promise<number>((resolve, reject) =>
    read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
  if (bytesRead !== length) throw new Tampered("a search index file is cut short");
  return buf;
}
