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
 * Files, in `<dir>/<account>/`: `directory` (which ids each segment holds, by a 30-bit prefix of
 * each: ~4 bytes a message, read at every start) and `<random>.seg`, one per segment, each sealed with the subkey "local-list-view" and associated data naming the file,
 * written atomically without fsync (a lost one costs time, not data). A segment is never rewritten:
 * a new one gets a new name, so a directory can only name segments as they were made. A file that
 * does not open (damaged, forged, sealed under a dropped key epoch) is left out, and its messages
 * are answered from their meta and join the view again. Deleting the folder is always safe.
 *
 * A computer without the view fills it from the segments shared through the bucket
 * (sharedListView.ts) at a mailbox's first open; a list of some messages waits for the segments
 * that hold them (`waitForSome`), 5 s at most.
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
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
/** The route's value for facts not written to a segment yet. */
const TAIL = -1;
/**
 * How long a list waits for fills from the bucket (sharedListView.ts) before answering from meta:
 * they are a round trip of parallel GETs; a host that stalls them must not stall the client.
 */
const FILL_WAIT_MS = 5000;
/**
 * How long the write of adopted facts (adopt) waits for a pause in client work at most: a client
 * that never pauses still gets them written, as a tail of SEGMENT_SIZE is.
 */
const QUIET_WAIT_MAX_MS = 5000;

const context = (name: string): SealContext => ({ purpose: "local-list-view", path: `list-view/${name}` });

/**
 * A message's place in the directory: 30 bits of its id (ids are 16 random bytes in hex). Two ids
 * that share it route to one segment, where the other is not found and is read from its meta: a
 * wrong route costs time, never a wrong answer. At 100,000 messages about one pair shares one.
 */
export function routeOf(id: string): number | undefined {
  const n = Number.parseInt(id.slice(0, 8), 16);
  return id.length >= 8 && Number.isInteger(n) ? n >>> 2 : undefined;
}

/** [u8 version][u32 segments] then per segment [12 bytes name][u32 n][n x u32 route] */
export function encodeDirectory(segments: ReadonlyMap<string, readonly number[]>): Uint8Array {
  let bytes = 5;
  for (const routes of segments.values()) bytes += 12 + 4 + 4 * routes.length;
  const out = Buffer.allocUnsafe(bytes);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt32BE(segments.size, at);
  for (const [name, routes] of segments) {
    at += out.write(name, at, "hex");
    at = out.writeUInt32BE(routes.length, at);
    for (const r of routes) at = out.writeUInt32BE(r, at);
  }
  return out;
}

/** Throws on bytes that are not a directory of this version. */
export function decodeDirectory(bytes: Uint8Array): { name: string; routes: Uint32Array }[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.readUInt8(0) !== VERSION) throw new Error("list view directory of another version");
  const out: { name: string; routes: Uint32Array }[] = [];
  const count = buf.readUInt32BE(1);
  let at = 5;
  for (let i = 0; i < count; i++) {
    const name = buf.toString("hex", at, at + 12);
    const n = buf.readUInt32BE(at + 12);
    at += 16;
    if (at + 4 * n > buf.length) throw new Error("list view directory is cut short");
    const routes = new Uint32Array(n);
    for (let j = 0; j < n; j++) routes[j] = buf.readUInt32BE(at + 4 * j);
    at += 4 * n;
    out.push({ name, routes });
  }
  return out;
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
  // One string of the whole segment, each header a slice of it: V8 keeps a slice as a view of
  // the string it was cut from, so a list of 1,000 messages makes one 1.5 MB string, not 1,000
  // copies (at 10,000 messages, ~15 MB less for the collector; the segment's string is freed with
  // its last header).
  const whole = buf.toString("latin1");
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
    out.set(id, { internalDate, size, header: whole.slice(at, at + h) });
    at += h;
  }
  return out;
}

/**
 * The ids of a segment's encoding, in order, its every length checked as decodeSegment checks
 * them (so that a decode of the same bytes cannot fail); throws on bytes that are not a segment.
 * The headers are skipped: no string is made of them.
 */
export function segmentIds(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = buf.readUInt32BE(0);
  const ids: string[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const n = buf.readUInt16BE(at);
    if (at + 2 + n + 16 > buf.length) throw new Error("list view segment is cut short");
    ids.push(buf.toString("utf8", at + 2, at + 2 + n));
    at += 2 + n;
    const h = buf.readUInt32BE(at + 12);
    at += 16;
    if (at + h > buf.length) throw new Error("list view segment is cut short");
    at += h;
  }
  return ids;
}

/** Of `ids`, those `view` does not hold, once its fills from the bucket are done. */
export async function lackingFacts(view: ListView, ids: string[]): Promise<string[]> {
  await view.settled();
  return ids.filter((id) => !view.holds(id));
}

export class ListView {
  private readonly key: Uint8Array;
  private readonly folder: string;
  /** Segment names; a route's value is an index here. */
  private readonly names: string[] = [];
  /** Segment (index in `names`) by route (routeOf); TAIL for facts not written yet. */
  private readonly where = new Map<number, number>();
  /** Facts not in a segment yet, in the order they came. */
  private tail = new Map<string, ListFacts>();
  /** Tails being written: still answered from here until their segment is in place. */
  private readonly pendingTails: Map<string, ListFacts>[] = [];
  /**
   * Every pending tail's facts in one map: a list looks an id up once, not in each (ten of them
   * after a shared fill: a tenth of a cold header list's CPU went to that search).
   */
  private readonly unwritten = new Map<string, ListFacts>();
  /** Opened segments, least recently used first. */
  private readonly opened = new Map<number, Promise<Map<string, ListFacts> | undefined>>();
  /** Segments whose file this view read or wrote, by index in `names`. */
  private readonly onDisk = new Set<number>();
  /**
   * Adopted segments not written yet (adopt), by index in `names`: their encoding, off the JS
   * heap, decoded when a list reads them as a file's would be.
   */
  private readonly inMemory = new Map<number, Uint8Array>();
  /** Whether routes were dropped since the directory was written. */
  private dirty = false;
  private readonly loaded: Promise<void>;
  /** Writes one after another: a segment, then the directory naming it. */
  private writing: Promise<void> = Promise.resolve();
  private made: Promise<unknown> | undefined;
  /** Fills from the bucket under way (sharedListView.ts): a list waits for them. */
  private readonly fills = new Set<Promise<unknown>>();
  /**
   * Fills that bring the facts of known messages only (one shared segment each), by the routes of
   * those messages: a list waits only for those of the messages it asks for (waitForSome).
   */
  private readonly fillsByRoute = new Map<number, Promise<unknown>>();
  /** Those fills, for settled() and filling. */
  private readonly someFills = new Set<Promise<unknown>>();

  constructor(
    dir: string,
    masterKey: Uint8Array,
    private readonly log?: Log,
    /** Resolves at a pause in client work (MessageStore.activity): when adopted facts are written. */
    private readonly quiet?: () => Promise<void>,
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
    if (this.fills.size > 0) await Promise.all(this.fills);
    if (this.fillsByRoute.size > 0) await this.fillsOf(ids);
    const out = new Map<string, ListFacts>();
    const bySegment = new Map<number, string[]>();
    for (const id of ids) {
      const route = routeOf(id);
      const at = route === undefined ? undefined : this.where.get(route);
      if (at === undefined) continue;
      if (at === TAIL) {
        const f = this.tail.get(id) ?? this.unwritten.get(id);
        if (f) out.set(id, f);
        continue;
      }
      const list = bySegment.get(at);
      if (list) list.push(id);
      else bySegment.set(at, [id]);
    }
    for (const [at, wanted] of bySegment) {
      const segment = await this.segment(at);
      if (!segment) continue;
      for (const id of wanted) {
        const f = segment.get(id);
        if (f) out.set(id, f);
      }
    }
    return out;
  }

  /**
   * Facts on their way from the bucket (sharedListView.ts fill, which never rejects): every get
   * waits for them, for FILL_WAIT_MS from this call at most (then lists read meta for what is not
   * in yet, and the fill's facts join the view when they come).
   */
  waitFor(fill: Promise<unknown>): void {
    let timer: NodeJS.Timeout | undefined;
    // Not unref'd: lists await it; cleared as soon as the fill ends.
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, FILL_WAIT_MS)));
    const bounded: Promise<unknown> = Promise.race([fill, late]).finally(() => {
      clearTimeout(timer);
      this.fills.delete(bounded);
    });
    this.fills.add(bounded);
  }

  /**
   * As waitFor, for a fill that brings the facts of `ids` alone (one shared segment): only a get
   * that asks for one of them waits for it, so a header list's first chunk is answered once its
   * own segment is in, while the others still come (a second computer's list opened ten of them
   * before answering anything). settled() waits for it as for any fill. Two ids that share a route
   * (routeOf) may leave a get not waiting for the fill of the other: it reads that message's meta,
   * time and never a wrong answer.
   */
  waitForSome(fill: Promise<unknown>, ids: readonly string[]): void {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, FILL_WAIT_MS)));
    const routes: number[] = [];
    const bounded: Promise<unknown> = Promise.race([fill, late]).finally(() => {
      clearTimeout(timer);
      this.someFills.delete(bounded);
      for (const route of routes)
        if (this.fillsByRoute.get(route) === bounded) this.fillsByRoute.delete(route);
    });
    this.someFills.add(bounded);
    for (const id of ids) {
      const route = routeOf(id);
      if (route === undefined) continue;
      routes.push(route);
      this.fillsByRoute.set(route, bounded);
    }
  }

  /** The fills under way that bring facts of some of `ids` (waitForSome), once they are done. */
  private async fillsOf(ids: readonly string[]): Promise<void> {
    const waits = new Set<Promise<unknown>>();
    for (const id of ids) {
      const route = routeOf(id);
      const fill = route === undefined ? undefined : this.fillsByRoute.get(route);
      if (fill) waits.add(fill);
    }
    if (waits.size > 0) await Promise.all(waits);
  }

  /** Resolves once the directory was read (holds() answers from it). */
  ready(): Promise<void> {
    return this.loaded;
  }

  /** Whether a fill is under way (holds() may change when it ends). */
  get filling(): boolean {
    return this.fills.size > 0 || this.someFills.size > 0;
  }

  /** Resolves when the fills under way are done or no longer waited for. */
  async settled(): Promise<void> {
    if (this.filling) await Promise.all([...this.fills, ...this.someFills]);
  }

  /** Whether the view may hold `id` (its route is known). */
  holds(id: string): boolean {
    const route = routeOf(id);
    return route !== undefined && this.where.has(route);
  }

  /** Keeps a message's facts (from a meta just written or read); a known route is left as it is. */
  add(id: string, facts: ListFacts): void {
    const route = routeOf(id);
    if (route === undefined || this.where.has(route)) return;
    this.where.set(route, TAIL);
    this.tail.set(id, { internalDate: facts.internalDate, size: facts.size, header: facts.header });
    if (this.tail.size >= SEGMENT_SIZE) this.writeTail();
  }

  /**
   * Keeps a segment of many messages' facts at once, as encoded (a shared segment just opened and
   * inflated: sharedListView.ts), for the ids `keep` says; answered from memory from now on and
   * written to a local segment once client work pauses (`quiet`), so that neither the seal nor
   * the write, nor a read of the file back, sits on the path of the header list that waits for
   * them. The bytes stay encoded, off the JS heap, until a list reads them (decoded as a file's
   * would be, the two last kept): decoded at once, the 10,000 header blocks of a second computer's
   * first sync stayed on the heap until that write, and the header list paid for them in
   * collections. Known routes are left as they are (add), and so are entries `keep` refuses: no
   * route leads to them (one of an id that shares the route may: a message's facts never change,
   * so what it finds is still right, as for an id forgotten from a segment file). Returns whether it refused any. Throws, keeping
   * nothing, on bytes that are not a segment.
   */
  adopt(encoded: Uint8Array, keep: (id: string) => boolean = () => true): boolean {
    const ids = segmentIds(encoded);
    const at = this.names.push(nodeRandomBytes(12).toString("hex")) - 1;
    let refused = false;
    let kept = 0;
    for (const id of ids) {
      if (!keep(id)) {
        refused = true;
        continue;
      }
      const route = routeOf(id);
      if (route === undefined || this.where.has(route)) continue;
      this.where.set(route, at);
      kept++;
    }
    if (kept > 0) {
      this.inMemory.set(at, encoded);
      this.writeAdopted(at);
    }
    return refused;
  }

  /** Writes adopted segment `at` once client work pauses, then the directory naming it. */
  private writeAdopted(at: number): void {
    this.writing = this.writing
      .then(async () => {
        await this.quietOrLate();
        const encoded = this.inMemory.get(at);
        if (!encoded) return;
        const name = this.names[at]!;
        await this.writeFile(`${name}.seg`, seal(this.key, encoded, context(name)));
        this.onDisk.add(at);
        this.inMemory.delete(at);
        this.dirty = false;
        await this.writeDirectory();
      })
      .catch((err: unknown) => {
        // The view is a cache: the messages are answered from their meta instead.
        this.log?.("warn", `list view: could not write ${this.folder}: ${(err as Error).message}`);
        this.inMemory.delete(at);
        this.opened.delete(at);
        for (const [route, where] of this.where) if (where === at) this.where.delete(route);
      });
  }

  /** Messages deleted here: no longer answered, and left out of the next directory. */
  forget(ids: readonly string[]): void {
    for (const id of ids) {
      const route = routeOf(id);
      const at = route === undefined ? undefined : this.where.get(route);
      if (at === undefined) continue;
      this.where.delete(route!);
      if (at === TAIL) {
        this.tail.delete(id);
        for (const p of this.pendingTails) p.delete(id);
        this.unwritten.delete(id);
      } else this.dirty = true;
    }
  }

  /** Writes what is not written yet (at close); resolves when every write is done. */
  async flush(): Promise<void> {
    await this.loaded;
    if (this.tail.size > 0 || this.dirty) this.writeTail();
    await this.writing;
  }

  private writeTail(): void {
    const entries = [...this.tail];
    this.tail = new Map();
    this.writeEntries(entries);
  }

  /**
   * Writes `entries` (facts whose route is TAIL) as a new segment, then the directory; answered
   * from memory until then.
   */
  private writeEntries(entries: [string, ListFacts][]): void {
    const pending = new Map(entries);
    const at = entries.length > 0 ? this.names.push(nodeRandomBytes(12).toString("hex")) - 1 : undefined;
    this.pendingTails.push(pending);
    for (const [id, f] of entries) this.unwritten.set(id, f);
    this.writing = this.writing
      .then(async () => {
        if (at !== undefined) {
          const name = this.names[at]!;
          await this.writeFile(`${name}.seg`, seal(this.key, encodeSegment(entries), context(name)));
          this.onDisk.add(at);
          for (const [id] of entries) {
            const route = routeOf(id)!;
            if (this.where.get(route) === TAIL && pending.has(id)) this.where.set(route, at);
          }
        }
        this.dirty = false;
        await this.writeDirectory();
      })
      .catch((err: unknown) => {
        // The view is a cache: the messages are answered from their meta instead.
        this.log?.("warn", `list view: could not write ${this.folder}: ${(err as Error).message}`);
        for (const [id] of entries) {
          const route = routeOf(id)!;
          if (this.where.get(route) === TAIL && pending.has(id)) this.where.delete(route);
        }
      })
      .finally(() => {
        this.pendingTails.splice(this.pendingTails.indexOf(pending), 1);
        for (const [id, f] of pending) if (this.unwritten.get(id) === f) this.unwritten.delete(id);
      });
  }

  /** A pause in client work, or QUIET_WAIT_MAX_MS, whichever comes first. */
  private async quietOrLate(): Promise<void> {
    if (!this.quiet) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, QUIET_WAIT_MAX_MS);
      timer.unref();
    });
    await Promise.race([this.quiet().catch(() => undefined), late]);
    clearTimeout(timer);
  }

  private async writeDirectory(): Promise<void> {
    const routes = new Map<number, number[]>();
    for (const [route, at] of this.where) {
      // Not an adopted segment still in memory: the directory names files only.
      if (at === TAIL || !this.onDisk.has(at)) continue;
      const list = routes.get(at);
      if (list) list.push(route);
      else routes.set(at, [route]);
    }
    const byName = new Map([...routes].map(([at, list]) => [this.names[at]!, list]));
    await this.writeFile(DIRECTORY, seal(this.key, encodeDirectory(byName), context(DIRECTORY)));
    await this.removeUnnamed(new Set(byName.keys()));
  }

  /**
   * Segment files of this view that no directory names any more (every id forgotten, or refused).
   * Files it does not know are left alone: another process (an `import` beside a stopped server)
   * may have just written them.
   */
  private async removeUnnamed(named: Set<string>): Promise<void> {
    for (const at of [...this.onDisk]) {
      const name = this.names[at]!;
      if (named.has(name)) continue;
      this.onDisk.delete(at);
      this.opened.delete(at);
      await unlink(join(this.folder, `${name}.seg`)).catch(() => undefined);
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
    let segments: { name: string; routes: Uint32Array }[];
    try {
      const sealed = await readFile(join(this.folder, DIRECTORY));
      segments = decodeDirectory(open(this.key, sealed, context(DIRECTORY)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        this.log?.("warn", `list view: ${this.folder}/${DIRECTORY} does not open; it is made again`);
      return;
    }
    for (const { name, routes } of segments) {
      const at = this.names.push(name) - 1;
      this.onDisk.add(at);
      for (const route of routes) if (!this.where.has(route)) this.where.set(route, at);
    }
  }

  /** A segment's facts; undefined when it does not open (its routes are then dropped). */
  private segment(at: number): Promise<Map<string, ListFacts> | undefined> {
    let found = this.opened.get(at);
    if (found) {
      this.opened.delete(at);
      this.opened.set(at, found);
      return found;
    }
    const name = this.names[at]!;
    const encoded = this.inMemory.get(at);
    found = (
      encoded
        ? Promise.resolve().then(() => decodeSegment(encoded))
        : readFile(join(this.folder, `${name}.seg`)).then((sealed) =>
            decodeSegment(open(this.key, sealed, context(name))),
          )
    ).catch(() => {
      this.log?.("warn", `list view: segment ${name} does not open; its messages are read from meta`);
      for (const [route, where] of this.where) if (where === at) this.where.delete(route);
      this.dirty = true;
      return undefined;
    });
    this.opened.set(at, found);
    if (this.opened.size > SEGMENTS_KEPT) this.opened.delete(this.opened.keys().next().value!);
    return found;
  }
}
