/**
 * One file of the search index: a batch of SearchDocs, sealed (XChaCha20-Poly1305, subkey
 * "search-index", every piece bound to the file's name and its place in it) in pieces that a
 * search opens only as far as it needs:
 *
 *   "AGSI" | version 2 | u32 n | sealed meta | u32 n | sealed common | u32 n | sealed headers
 *          | u32 n | bodies: one sealed text per message, one after another
 *
 * - meta: u32 j | j bytes of JSON (SegmentMeta) | the trigram signatures.
 * - common: the fields SEARCH names (Subject, From, To, Cc, Bcc) of every message, so that those
 *   keys open nothing else; headers: each message's whole decoded header block and its other
 *   fields. UTF-8 of the texts one after another; SegmentMeta gives where each starts and ends
 *   in UTF-16 units of the decoded section (searchDoc.ts keeps lone surrogates out, so the texts
 *   come back unchanged).
 * - bodies: message i's body text sealed on its own (path `.../body/<i>`, unpadded: the file
 *   never leaves this computer), so a BODY search decrypts only the messages whose signature lets
 *   the needle through.
 *
 * A file that was changed, cut short or sealed for another name fails to open (Tampered or
 * WrongContext); the index then throws it away with the rest and builds again (searchIndex.ts).
 */
import { open as openFile, type FileHandle } from "node:fs/promises";
import { open, seal, type SealContext } from "../../crypto/aead.ts";
import { Tampered } from "../../errors.ts";
import type { SearchDoc } from "./searchDoc.ts";
import type { SearchFacts } from "./searchFacts.ts";
import { mayContain } from "./trigramSignature.ts";

const MAGIC = "AGSI";
const VERSION = 2;
const SECTIONS = ["meta", "common", "headers", "bodies"] as const;
type Section = (typeof SECTIONS)[number];
/** The header fields SEARCH has keys for (RFC 3501 §6.4.4), kept apart from the others. */
const COMMON = new Set(["subject", "from", "to", "cc", "bcc"]);

const context = (name: string, section: string): SealContext => ({
  purpose: "search-index",
  path: `search-index/${name}/${section}`,
});

/** Header texts of a section: per message, where its record starts, its fields' names and ends. */
interface FieldTable {
  /** Start of each message's record (and the end of the last). */
  starts: number[];
  /** Per message: the end of each field's value, relative to its start (headers: the block first). */
  ends: number[][];
  names: string[][];
}

interface SegmentMeta {
  ids: string[];
  dates: number[];
  sizes: number[];
  sent: number[];
  common: FieldTable;
  headers: FieldTable;
  /** Where each message's sealed body starts in the bodies section (and the last ends). */
  bodies: number[];
  /** Where each signature starts (and the last ends). */
  sigs: number[];
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function table(): FieldTable {
  return { starts: [], ends: [], names: [] };
}

/** Adds one message's record (optional leading text, then fields) to a table and its texts. */
function addRecord(
  t: FieldTable,
  texts: string[],
  at: number,
  lead: string | null,
  fields: [string, string][],
): number {
  t.starts.push(at);
  const ends: number[] = [];
  let end = 0;
  if (lead !== null) {
    texts.push(lead);
    end += lead.length;
    ends.push(end);
  }
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
    common: table(),
    headers: table(),
    bodies: [],
    sigs: [],
  };
  const commonTexts: string[] = [];
  const headerTexts: string[] = [];
  const bodies: Uint8Array[] = [];
  let c = 0;
  let h = 0;
  let b = 0;
  let s = 0;
  docs.forEach((doc, i) => {
    meta.ids.push(doc.id);
    meta.dates.push(doc.internalDate);
    meta.sizes.push(doc.size);
    meta.sent.push(doc.sentDay);
    const common: [string, string][] = [];
    const other: [string, string][] = [];
    for (let k = 0; k < doc.fields.length; k += 2)
      (COMMON.has(doc.fields[k]!) ? common : other).push([doc.fields[k]!, doc.fields[k + 1]!]);
    c = addRecord(meta.common, commonTexts, c, null, common);
    h = addRecord(meta.headers, headerTexts, h, doc.headerText, other);
    const body = seal(key, Buffer.from(doc.bodyText), context(name, `body/${i}`), { exact: true });
    meta.bodies.push(b);
    bodies.push(body);
    b += body.length;
    meta.sigs.push(s);
    s += doc.signature.length;
  });
  meta.common.starts.push(c);
  meta.headers.starts.push(h);
  meta.bodies.push(b);
  meta.sigs.push(s);
  const json = Buffer.from(JSON.stringify(meta));
  const sealed = (section: Section, plain: Uint8Array) => seal(key, plain, context(name, section));
  const parts: Uint8Array[] = [Buffer.from(MAGIC), Buffer.from([VERSION])];
  for (const piece of [
    sealed("meta", Buffer.concat([u32(json.length), json, ...docs.map((d) => d.signature)])),
    sealed("common", Buffer.from(commonTexts.join(""))),
    sealed("headers", Buffer.from(headerTexts.join(""))),
    Buffer.concat(bodies),
  ])
    parts.push(u32(piece.length), piece);
  return Buffer.concat(parts);
}

const HEAD = MAGIC.length + 1;

/** A segment file opened for reading: its meta at once, the rest when first asked for. */
export class Segment {
  private commonText: Promise<string> | undefined;
  private headerText: Promise<string> | undefined;
  private bodyBytes: Promise<Uint8Array> | undefined;

  private constructor(
    private readonly file: FileHandle,
    private readonly size: number,
    private readonly key: Uint8Array,
    readonly name: string,
    private readonly meta: SegmentMeta,
    private readonly signatures: Uint8Array,
    private readonly at: Record<Section, { start: number; length: number }>,
  ) {}

  static async open(path: string, name: string, key: Uint8Array): Promise<Segment> {
    const file = await openFile(path, "r");
    try {
      const { size } = await file.stat();
      const head = await readAt(file, 0, HEAD, size);
      if (Buffer.from(head.subarray(0, 4)).toString("latin1") !== MAGIC || head[4] !== VERSION)
        throw new Tampered(`the search index file ${path} is not one this build writes`);
      const at = {} as Record<Section, { start: number; length: number }>;
      let pos = HEAD;
      for (const section of SECTIONS) {
        const length = Buffer.from(await readAt(file, pos, 4, size)).readUInt32BE(0);
        at[section] = { start: pos + 4, length };
        pos += 4 + length;
      }
      if (pos !== size) throw new Tampered(`the search index file ${path} has ${size - pos} bytes too many`);
      const sealedMeta = await readAt(file, at.meta.start, at.meta.length, size);
      const plain = Buffer.from(open(key, sealedMeta, context(name, "meta")));
      const j = plain.readUInt32BE(0);
      const meta = JSON.parse(plain.toString("utf8", 4, 4 + j)) as SegmentMeta;
      if (meta.bodies.at(-1) !== at.bodies.length)
        throw new Tampered(`the search index file ${path} does not hold the bodies its meta lists`);
      return new Segment(file, size, key, name, meta, plain.subarray(4 + j), at);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  get ids(): readonly string[] {
    return this.meta.ids;
  }

  private common(): Promise<string> {
    this.commonText ??= this.text("common");
    return this.commonText;
  }

  private headers(): Promise<string> {
    this.headerText ??= this.text("headers");
    return this.headerText;
  }

  private async text(section: "common" | "headers"): Promise<string> {
    const { start, length } = this.at[section];
    const sealed = await readAt(this.file, start, length, this.size);
    return Buffer.from(open(this.key, sealed, context(this.name, section))).toString("utf8");
  }

  /** Message i's body text: the bodies section is read once (still sealed), each text opened alone. */
  private async body(i: number): Promise<string> {
    this.bodyBytes ??= readAt(this.file, this.at.bodies.start, this.at.bodies.length, this.size);
    const all = await this.bodyBytes;
    const sealed = all.subarray(this.meta.bodies[i], this.meta.bodies[i + 1]);
    const plain = open(this.key, sealed, context(this.name, `body/${i}`));
    return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString("utf8");
  }

  /** The facts of message `i`; its texts are opened when first asked for. */
  facts(i: number): SearchFacts {
    const m = this.meta;
    const sig = this.signatures.subarray(m.sigs[i], m.sigs[i + 1]);
    let body: Promise<string> | undefined;
    return {
      size: m.sizes[i]!,
      internalDate: m.dates[i]!,
      sentDay: () => m.sent[i]!,
      headerText: async () => {
        const start = m.headers.starts[i]!;
        return (await this.headers()).slice(start, start + m.headers.ends[i]![0]!);
      },
      headerValues: async (field) => {
        const wanted = field.toLowerCase();
        if (COMMON.has(wanted)) return values(m.common, i, 0, await this.common(), wanted);
        return values(m.headers, i, 1, await this.headers(), wanted);
      },
      bodyMayContain: (needle) => mayContain(sig, needle),
      bodyText: () => (body ??= this.body(i)),
    };
  }

  /** The docs again, for merging segments. */
  async docs(): Promise<SearchDoc[]> {
    const common = await this.common();
    const headers = await this.headers();
    const m = this.meta;
    const out: SearchDoc[] = [];
    for (let i = 0; i < m.ids.length; i++) {
      const fields = [...fieldsOf(m.common, i, 0, common), ...fieldsOf(m.headers, i, 1, headers)];
      const start = m.headers.starts[i]!;
      out.push({
        id: m.ids[i]!,
        internalDate: m.dates[i]!,
        size: m.sizes[i]!,
        sentDay: m.sent[i]!,
        headerText: headers.slice(start, start + m.headers.ends[i]![0]!),
        fields,
        bodyText: await this.body(i),
        signature: this.signatures.slice(m.sigs[i], m.sigs[i + 1]),
      });
    }
    return out;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** Values of field `wanted` in message i's record; `first` is the index of its first field's end. */
function values(t: FieldTable, i: number, first: number, text: string, wanted: string): string[] {
  const names = t.names[i]!;
  const ends = t.ends[i]!;
  const start = t.starts[i]!;
  const out: string[] = [];
  for (let k = 0; k < names.length; k++) {
    if (names[k] !== wanted) continue;
    const from = first + k === 0 ? 0 : ends[first + k - 1]!;
    out.push(text.slice(start + from, start + ends[first + k]!));
  }
  return out;
}

function fieldsOf(t: FieldTable, i: number, first: number, text: string): string[] {
  const out: string[] = [];
  const start = t.starts[i]!;
  const ends = t.ends[i]!;
  t.names[i]!.forEach((name, k) => {
    const from = first + k === 0 ? 0 : ends[first + k - 1]!;
    out.push(name, text.slice(start + from, start + ends[first + k]!));
  });
  return out;
}

async function readAt(file: FileHandle, position: number, length: number, size: number): Promise<Uint8Array> {
  if (position + length > size) throw new Tampered("a search index file is cut short");
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  if (bytesRead !== length) throw new Tampered("a search index file is cut short");
  return buf;
}
