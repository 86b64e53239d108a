/**
 * One file of the search index: a batch of SearchDocs in three sections, each sealed on its own
 * (XChaCha20-Poly1305, subkey "search-index", bound to the file's name and the section's), so a
 * header search opens neither the bodies nor their text:
 *
 *   "AGSI" | version 1 | u32 n | sealed meta | u32 n | sealed headers | u32 n | sealed bodies
 *
 * - meta: u32 j | j bytes of JSON {ids, dates, sizes, sent, hs, f, bs, ss} | trigram signatures.
 *   `hs` and `bs` are where each message's header and body text start (and where the last ends), in
 *   UTF-16 units of the decoded section; `f` per message [end of its header text, end of the
 *   first field's value, ...] relative to its start, `n` the fields' names; `ss` where each
 *   signature starts.
 * - headers, bodies: UTF-8 of the texts one after another (searchDoc.ts keeps lone surrogates out,
 *   so they come back unchanged).
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
const VERSION = 1;
const SECTIONS = ["meta", "headers", "bodies"] as const;
type Section = (typeof SECTIONS)[number];

const context = (name: string, section: Section): SealContext => ({
  purpose: "search-index",
  path: `search-index/${name}/${section}`,
});

interface SegmentMeta {
  ids: string[];
  dates: number[];
  sizes: number[];
  sent: number[];
  hs: number[];
  f: number[][];
  n: string[][];
  bs: number[];
  ss: number[];
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** The bytes of a segment file named `name` holding `docs`. */
export function encodeSegment(key: Uint8Array, name: string, docs: readonly SearchDoc[]): Uint8Array {
  const meta: SegmentMeta = { ids: [], dates: [], sizes: [], sent: [], hs: [], f: [], n: [], bs: [], ss: [] };
  const headers: string[] = [];
  const bodies: string[] = [];
  let h = 0;
  let b = 0;
  let s = 0;
  for (const doc of docs) {
    meta.ids.push(doc.id);
    meta.dates.push(doc.internalDate);
    meta.sizes.push(doc.size);
    meta.sent.push(doc.sentDay);
    meta.hs.push(h);
    const ends = [doc.headerText.length];
    const names: string[] = [];
    let at = doc.headerText.length;
    headers.push(doc.headerText);
    for (let i = 0; i < doc.fields.length; i += 2) {
      at += doc.fields[i + 1]!.length;
      names.push(doc.fields[i]!);
      ends.push(at);
      headers.push(doc.fields[i + 1]!);
    }
    meta.f.push(ends);
    meta.n.push(names);
    h += at;
    meta.bs.push(b);
    bodies.push(doc.bodyText);
    b += doc.bodyText.length;
    meta.ss.push(s);
    s += doc.signature.length;
  }
  meta.hs.push(h);
  meta.bs.push(b);
  meta.ss.push(s);
  const json = Buffer.from(JSON.stringify(meta));
  const plain: Record<Section, Uint8Array> = {
    meta: Buffer.concat([u32(json.length), json, ...docs.map((d) => d.signature)]),
    headers: Buffer.from(headers.join("")),
    bodies: Buffer.from(bodies.join("")),
  };
  const parts: Uint8Array[] = [Buffer.from(MAGIC), Buffer.from([VERSION])];
  for (const section of SECTIONS) {
    const sealed = seal(key, plain[section], context(name, section));
    parts.push(u32(sealed.length), sealed);
  }
  return Buffer.concat(parts);
}

const HEAD = MAGIC.length + 1;

/** A segment file opened for reading: its meta at once, its texts when first asked for. */
export class Segment {
  private headerText: string | undefined;
  private bodyText: Promise<string> | undefined;

  private constructor(
    private readonly file: FileHandle,
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
      const plain = Buffer.from(
        openSection(key, name, "meta", await readAt(file, at.meta.start, at.meta.length, size)),
      );
      const j = plain.readUInt32BE(0);
      const meta = JSON.parse(plain.toString("utf8", 4, 4 + j)) as SegmentMeta;
      return new Segment(file, key, name, meta, plain.subarray(4 + j), at);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  get ids(): readonly string[] {
    return this.meta.ids;
  }

  /** Opens both text sections: a damaged file is found now rather than at a search. */
  async verify(): Promise<void> {
    await this.headers();
    await this.bodies();
  }

  async headers(): Promise<string> {
    this.headerText ??= await this.text("headers");
    return this.headerText;
  }

  bodies(): Promise<string> {
    this.bodyText ??= this.text("bodies");
    return this.bodyText;
  }

  private async text(section: Section): Promise<string> {
    const { start, length } = this.at[section];
    const sealed = await readAt(this.file, start, length, Infinity);
    return Buffer.from(openSection(this.key, this.name, section, sealed)).toString("utf8");
  }

  /** The facts of message `i`; `headers` is what headers() resolved to. */
  facts(i: number, headers: string): SearchFacts {
    const m = this.meta;
    const hs = m.hs[i]!;
    const ends = m.f[i]!;
    const names = m.n[i]!;
    const sig = this.signatures.subarray(m.ss[i], m.ss[i + 1]);
    return {
      size: m.sizes[i]!,
      internalDate: m.dates[i]!,
      sentDay: () => m.sent[i]!,
      headerText: () => headers.slice(hs, hs + ends[0]!),
      headerValues: (field) => {
        const wanted = field.toLowerCase();
        const out: string[] = [];
        for (let k = 0; k < names.length; k++)
          if (names[k] === wanted) out.push(headers.slice(hs + ends[k]!, hs + ends[k + 1]!));
        return out;
      },
      bodyMayContain: (needle) => mayContain(sig, needle),
      bodyText: async () => (await this.bodies()).slice(m.bs[i], m.bs[i + 1]),
    };
  }

  /** The docs again, for merging segments. */
  async docs(): Promise<SearchDoc[]> {
    const headers = await this.headers();
    const bodies = await this.bodies();
    const m = this.meta;
    return m.ids.map((id, i) => {
      const ends = m.f[i]!;
      const names = m.n[i]!;
      const hs = m.hs[i]!;
      const fields: string[] = [];
      for (let k = 0; k < names.length; k++)
        fields.push(names[k]!, headers.slice(hs + ends[k]!, hs + ends[k + 1]!));
      return {
        id,
        internalDate: m.dates[i]!,
        size: m.sizes[i]!,
        sentDay: m.sent[i]!,
        headerText: headers.slice(hs, hs + ends[0]!),
        fields,
        bodyText: bodies.slice(m.bs[i], m.bs[i + 1]),
        signature: this.signatures.subarray(m.ss[i], m.ss[i + 1]),
      };
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function openSection(key: Uint8Array, name: string, section: Section, sealed: Uint8Array): Uint8Array {
  return open(key, sealed, context(name, section));
}

async function readAt(file: FileHandle, position: number, length: number, size: number): Promise<Uint8Array> {
  if (position + length > size) throw new Tampered("a search index file is cut short");
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  if (bytesRead !== length) throw new Tampered("a search index file is cut short");
  return buf;
}
