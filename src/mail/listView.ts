/**
 * This computer's sealed copy of what a client's message list asks of each message: its internal
 * date, its size and its top-level header block (`UID FETCH a:b (UID RFC822.SIZE FLAGS
 * BODY.PEEK[HEADER.FIELDS (...)])`, Thunderbird's first sync). Answering that list from meta rows
 * opens one sealed object per message (a read from the row log, an AEAD open, a decode: ~35 µs of
 * CPU each at 10,000 messages, the largest part of the list's time); here a thousand messages
 * share one sealed segment, opened once per list. Dovecot's index cache plays the same part.
 *
 * It is a cache of facts that never change: a message id's meta is written once and never
 * rewritten (a COPY makes a new id), so an entry cannot go stale, only be missing (then the meta
 * row answers, and its facts join the view) or left over (an id deleted here is forgotten; one
 * deleted elsewhere only costs space until its segment is rewritten or dropped).
 *
 * Files, in `<dir>/<account>/`: `directory` (which ids each segment holds) and `<random>.seg`, one
 * per segment, each sealed with the subkey "local-list-view" and associated data naming the file,
 * written atomically without fsync (a lost one costs time, not data). A segment is never rewritten:
 * a new one gets a new name, so a directory can only name segments as they were made. A file that
 * does not open (damaged, forged, sealed under a dropped key epoch) is left out, and its messages
 * are answered from their meta and join the view again. Deleting the folder is always safe.
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { open, seal, type SealContext } from "../crypto/aead.ts";
import { deriveSubkey } from "../crypto/keyRoot.ts";
import type { Log } from "../log.ts";

/** What a message list needs of a message, as its meta holds it (metaCodec.ts). */
export interface ListFacts {
  internalDate: number;
  size: number;
  /** The top-level header block (latin1). */
  header: string;
}

/** Messages per segment: one open per 1,000 of a list (~1.5 MB of headers on the bench corpus). */
export const SEGMENT_SIZE = 1000;
/** Opened segments kept: a list walks in order, so the one it reads and the one before. */
const SEGMENTS_KEPT = 2;
const DIRECTORY = "directory";
const VERSION = 1;

const context = (name: string): SealContext => ({ purpose: "local-list-view", path: `list-view/${name}` });

interface Directory {
  v: number;
  segments: { name: string; ids: string[] }[];
}

/** [u32 count] then per message [u16 id length][id][f64 internal date][u32 size][u32 h][h header bytes] */
export function encodeSegment(entries: readonly (readonly [string, ListFacts])[]): Uint8Array {
  let bytes = 4;
  for (const [id, f] of entries) bytes += 2 + Buffer.byteLength(id) + 8 + 4 + 4 + f.header.length;
  const out = Buffer.allocUnsafe(bytes);
  let at = out.writeUInt32BE(entries.length, 0);
  for (const [id, f] of entries) {
    const n = out.write(id, at + 2, "utf8");
    at = out.writeUInt16BE(n, at) + n;
    at = out.writeDoubleBE(f.internalDate, at);
    at = out.writeUInt32BE(f.size, at);
    at = out.writeUInt32BE(f.header.length, at);
    at += out.write(f.header, at, "latin1");
  }
  return out;
}

/** Throws on bytes that are not a segment. */
export function decodeSegment(bytes: Uint8Array): Map<string, ListFacts> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, ListFacts>();
  const count = buf.readUInt32BE(0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const n = buf.readUInt16BE(at);
    const id = buf.toString("utf8", at + 2, at + 2 + n);
    at += 2 + n;
    const internalDate = buf.readDoubleBE(at);
    const size = buf.readUInt32BE(at + 8);
    const h = buf.readUInt32BE(at + 12);
    at += 16;
    if (at + h > buf.length) throw new Error("list view segment is cut short");
    out.set(id, { internalDate, size, header: buf.toString("latin1", at, at + h) });
    at += h;
  }
  return out;
}

export class ListView {
  private readonly key: Uint8Array;
  private readonly folder: string;
  /** Segment name by message id; "" for the tail not written yet. */
  private readonly where = new Map<string, string>();
  /** Entries not in a segment yet, in the order they came. */
  private tail: [string, ListFacts][] = [];
  private readonly tailFacts = new Map<string, ListFacts>();
  /** Opened segments, least recently used first. */
  private readonly opened = new Map<string, Promise<Map<string, ListFacts> | undefined>>();
  /** Segments whose ids were forgotten since the directory was written. */
  private dirty = false;
  private readonly loaded: Promise<void>;
  /** Writes one after another: a segment, then the directory naming it. */
  private writing: Promise<void> = Promise.resolve();
  private made: Promise<unknown> | undefined;

  constructor(
    dir: string,
    masterKey: Uint8Array,
    private readonly log?: Log,
  ) {
    this.key = deriveSubkey(masterKey, "local-list-view");
    const account = Buffer.from(deriveSubkey(masterKey, "local-list-view-folder")).subarray(0, 12);
    this.folder = join(dir, account.toString("hex"));
    // Started at once: the directory is read while the client lists and selects.
    this.loaded = this.load();
  }

  /** The facts the view holds for `ids` (others are left out). */
  async get(ids: readonly string[]): Promise<Map<string, ListFacts>> {
    await this.loaded;
    const out = new Map<string, ListFacts>();
    const bySegment = new Map<string, string[]>();
    for (const id of ids) {
      const name = this.where.get(id);
      if (name === undefined) continue;
      if (name === "") {
        const f = this.tailFacts.get(id);
        if (f) out.set(id, f);
        continue;
      }
      const list = bySegment.get(name);
      if (list) list.push(id);
      else bySegment.set(name, [id]);
    }
    for (const [name, wanted] of bySegment) {
      const segment = await this.segment(name);
      if (!segment) continue;
      for (const id of wanted) {
        const f = segment.get(id);
        if (f) out.set(id, f);
      }
    }
    return out;
  }

  /** Whether the view has `id` (or may: a segment that fails to open drops its ids). */
  holds(id: string): boolean {
    return this.where.has(id);
  }

  /** Keeps a message's facts (from a meta just written or read); a known id is left as it is. */
  add(id: string, facts: ListFacts): void {
    if (this.where.has(id)) return;
    const kept = { internalDate: facts.internalDate, size: facts.size, header: facts.header };
    this.where.set(id, "");
    this.tail.push([id, kept]);
    this.tailFacts.set(id, kept);
    if (this.tail.length >= SEGMENT_SIZE) this.writeTail();
  }

  /** Messages deleted here: no longer answered, and left out of the next directory. */
  forget(ids: readonly string[]): void {
    let fromTail = false;
    for (const id of ids) {
      const name = this.where.get(id);
      if (name === undefined) continue;
      this.where.delete(id);
      if (name === "") fromTail = this.tailFacts.delete(id) || fromTail;
      else this.dirty = true;
    }
    if (fromTail) this.tail = this.tail.filter(([id]) => this.tailFacts.has(id));
  }

  /** Writes what is not written yet (at close); resolves when every write is done. */
  async flush(): Promise<void> {
    await this.loaded;
    if (this.tail.length > 0 || this.dirty) this.writeTail();
    await this.writing;
  }

  private writeTail(): void {
    const entries = this.tail;
    this.tail = [];
    const name = entries.length > 0 ? nodeRandomBytes(12).toString("hex") : undefined;
    this.writing = this.writing
      .then(async () => {
        if (name) {
          await this.writeFile(`${name}.seg`, seal(this.key, encodeSegment(entries), context(name)));
          for (const [id] of entries) {
            if (this.where.get(id) === "") this.where.set(id, name);
            this.tailFacts.delete(id);
          }
        }
        this.dirty = false;
        await this.writeDirectory();
      })
      .catch((err: unknown) => {
        // The view is a cache: the messages are answered from their meta instead.
        this.log?.("warn", `list view: could not write ${this.folder}: ${(err as Error).message}`);
      });
  }

  private async writeDirectory(): Promise<void> {
    const ids = new Map<string, string[]>();
    for (const [id, name] of this.where) {
      if (name === "") continue;
      const list = ids.get(name);
      if (list) list.push(id);
      else ids.set(name, [id]);
    }
    const directory: Directory = {
      v: VERSION,
      segments: [...ids].map(([name, list]) => ({ name, ids: list })),
    };
    const bytes = Buffer.from(JSON.stringify(directory), "utf8");
    await this.writeFile(DIRECTORY, seal(this.key, bytes, context(DIRECTORY)));
    await this.removeUnnamed(new Set(ids.keys()));
  }

  /** Segments no directory names any more (every id forgotten, or left from a lost write). */
  private async removeUnnamed(named: Set<string>): Promise<void> {
    for (const file of await readdir(this.folder).catch(() => [] as string[])) {
      if (!file.endsWith(".seg") || named.has(file.slice(0, -4))) continue;
      this.opened.delete(file.slice(0, -4));
      await unlink(join(this.folder, file)).catch(() => undefined);
    }
  }

  private async writeFile(name: string, bytes: Uint8Array): Promise<void> {
    this.made ??= mkdir(this.folder, { recursive: true, mode: 0o700 });
    await this.made;
    const file = join(this.folder, name);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, bytes, { mode: 0o600 });
    await rename(temp, file);
  }

  private async load(): Promise<void> {
    let directory: Directory;
    try {
      const sealed = await readFile(join(this.folder, DIRECTORY));
      directory = JSON.parse(
        Buffer.from(open(this.key, sealed, context(DIRECTORY))).toString("utf8"),
      ) as Directory;
      if (directory.v !== VERSION || !Array.isArray(directory.segments)) return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        this.log?.("warn", `list view: ${this.folder}/${DIRECTORY} does not open; it is made again`);
      return;
    }
    for (const { name, ids } of directory.segments) {
      if (typeof name !== "string" || !/^[0-9a-f]{24}$/.test(name) || !Array.isArray(ids)) continue;
      for (const id of ids) if (typeof id === "string" && !this.where.has(id)) this.where.set(id, name);
    }
  }

  /** A segment's entries; undefined when it does not open (its ids are then made again). */
  private segment(name: string): Promise<Map<string, ListFacts> | undefined> {
    let found = this.opened.get(name);
    if (found) {
      this.opened.delete(name);
      this.opened.set(name, found);
      return found;
    }
    found = readFile(join(this.folder, `${name}.seg`))
      .then((sealed) => decodeSegment(open(this.key, sealed, context(name))))
      .catch(() => {
        this.log?.("warn", `list view: segment ${name} does not open; its messages are read from meta`);
        for (const [id, at] of this.where) if (at === name) this.where.delete(id);
        this.dirty = true;
        return undefined;
      });
    this.opened.set(name, found);
    if (this.opened.size > SEGMENTS_KEPT) this.opened.delete(this.opened.keys().next().value!);
    return found;
  }
}
