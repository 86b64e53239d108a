/**
 * The local search index of one account (issue 11): segment files (segmentFile.ts) in a private
 * folder of this computer, sealed with a subkey of the master key, never in the bucket. Each
 * segment holds a batch of messages by id; new messages wait in memory (searchable at once) and
 * go to a new segment after a quiet second, 1,000 messages or 4 Mi characters; expunged ids are
 * listed in the sealed file `removed` until every segment that may hold them is rewritten (one is
 * rewritten once a quarter of it is removed).
 *
 * The index only ever narrows or answers for the messages it holds: SEARCH scans whatever it lacks
 * (search.ts), so a missing, stale or half-built index costs time, never a wrong answer. A file
 * that does not open (changed, cut short, sealed for another name) is never trusted: the whole
 * index is thrown away and built again in the background (indexFiller.ts).
 *
 * One process at a time uses the folder (its lock); another one runs without an index.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { open, seal } from "../../crypto/aead.ts";
import { Locked } from "../../errors.ts";
import type { Log } from "../../log.ts";
import { replaceFile, syncFolder, writeAllFully } from "../../storage/embedded/durableFs.ts";
import { lockFolder, type FolderLock } from "../../storage/embedded/folderLock.ts";
import { addressField } from "./addressTexts.ts";
import type { SearchDoc } from "./searchDoc.ts";
import type { SearchFacts } from "./searchFacts.ts";
import { encodeSegmentParts, OtherSegmentVersion, Segment } from "./segmentFile.ts";
import { mayContain } from "./trigramSignature.ts";
import { IdFilter } from "./idFilter.ts";
import { SegmentCache, type SegmentLease } from "./segmentCache.ts";

const SEGMENT_SUFFIX = ".seg";
const REMOVED = "removed";
/** Messages per segment file when building or merging. */
export const SEGMENT_DOCS = 1000;
/** New messages are written after this long without another, or at this many. */
const FLUSH_AFTER_MS = 1000;
const FLUSH_AT = SEGMENT_DOCS;
/**
 * ... or once the waiting messages' texts reach this many characters (docChars): 1,000 messages
 * of a few KB each waited in memory during a burst of APPENDs, and were then encoded at once
 * (issue 11: the bench's APPEND phases). Such files are merged as small ones are.
 */
const FLUSH_CHARS = 4 * 2 ** 20;
/**
 * A merge writes a file once it holds SEGMENT_DOCS messages or this many characters of text, so
 * that it holds one file's worth of texts at a time, however long they are (issue 18).
 */
export const SEGMENT_CHARS = FLUSH_CHARS;
/**
 * Files of fewer than half SEGMENT_DOCS messages and fewer than half SEGMENT_CHARS bytes (appends
 * written a few at a time) are merged into full ones past this many. A file written at
 * FLUSH_CHARS is full: under steady APPENDs every file is written so, and merging 25 of them
 * (~125 MB of texts, 1,000 messages per output) held 50-70 MB of buffers for 10 s, which glibc
 * kept (issue 18).
 */
const MERGE_SMALL_FILES = 24;
/**
 * A file is rewritten without its removed messages once they are more than this share of it
 * (issue 18): removal costs work in proportion to what was removed, and the files hold at most
 * 1 / (1 - share) times their live messages. Before, past 2,000 removed ids every file was
 * rewritten: under the load tool's expunges, the whole index once a minute.
 */
const REWRITE_DEAD_SHARE = 0.25;
/**
 * Messages one merge reads at most (8 full files, about 15 MB each of the load tool's messages):
 * the rest wait for the next write, so that new messages are written in between and a merge stays
 * a short slice.
 */
const MERGE_DOCS_AT_ONCE = 8 * SEGMENT_DOCS;
/**
 * A search for at most this many messages (its mailbox's view) skips the files that surely hold
 * none of them (idFilter.ts); a larger one opens every file, as the check would cost more.
 */
export const FILTER_MAX_IDS = 5 * SEGMENT_DOCS;
/**
 * Files kept open across searches (segmentCache.ts): their metas for at most this many messages
 * (~120 B each), their opened pieces up to this many bytes of plaintext.
 */
export const KEEP_OPEN_DOCS = 20 * SEGMENT_DOCS;
const KEEP_OPEN_PIECE_BYTES = 8 * 2 ** 20;

/** What `status` shows of the index. */
export interface SearchIndexProgress {
  /** off: no index on this run (another process holds it, or it could not be made). */
  state: "off" | "loading" | "building" | "ready";
  /** Messages of the account the index holds, and how many the account has. */
  indexed: number;
  total: number;
  /** Messages per second while building, and the seconds left at that rate. */
  rate?: number;
  etaSeconds?: number;
  detail?: string;
}

/** A batch of indexed messages, as a search walks them. */
export interface IndexedBatch {
  ids: readonly string[];
  /** Facts of message `i`; the texts are opened when first asked for. */
  facts(i: number): SearchFacts;
  /**
   * 1 for each message whose header fields (or address texts) may hold `needle` (lower-cased, not
   * empty) as a value of `field`: a message with 0 surely has no such value.
   */
  candidates(field: string, needle: string): Promise<Uint8Array>;
  /**
   * Where `id` is in `ids`, or -1 (also for a removed one): for a search that knows a few
   * messages came since it last looked (searchPlaces.ts), without a walk of the whole batch.
   */
  positionOf(id: string): number;
  /**
   * Opens the piece holding `field`'s values ahead of a search (searchWarmUp.ts): it stays open
   * with the file, within the bound on opened pieces (segmentCache.ts).
   */
  openField(field: string): Promise<void>;
}

export class SearchIndex {
  private lock: FolderLock | undefined;
  private ready: Promise<boolean> | undefined;
  private names: string[] = [];
  /** Messages in each file, and its bytes, by name. */
  private readonly counts = new Map<string, number>();
  /** The sum of `counts`. */
  private inFiles = 0;
  /** Bytes of each file, by name: with `counts`, whether it is small enough to merge. */
  private readonly fileBytes = new Map<string, number>();
  /** Which ids each file may hold, by name (idFilter.ts): ~3 KB per file of 1,000. */
  private readonly filters = new Map<string, IdFilter>();
  /**
   * Removed ids some file may still hold (its id filter says so): an id leaves the list only once
   * no file may hold it, so a search never serves a removed message from a file not yet rewritten.
   */
  private removed = new Set<string>();
  /**
   * Per file, changes when an id its filter may hold enters or leaves `removed`: the file's ids as
   * searches see them (idsShown) are kept for one value of it. One version for the whole index,
   * bumped by every expunge, had every SEARCH map every file it visited again, and under the load
   * tool's expunges throughput halved within 15 minutes of an hour-long run (issue 18).
   */
  private readonly removedVersions = new Map<string, number>();
  private readonly shownIds = new WeakMap<Segment, { version: number; ids: readonly string[] }>();
  /** Position of each id in a file kept open, made when a search first asks (positionOf). */
  private readonly positions = new WeakMap<Segment, Map<string, number>>();
  private readonly segments = new SegmentCache(KEEP_OPEN_DOCS, KEEP_OPEN_PIECE_BYTES);
  /** Removed ids each file may hold, by name: how worn it is. */
  private readonly dead = new Map<string, number>();
  private pending: SearchDoc[] = [];
  private pendingIds = new Set<string>();
  /** docChars of `pending`, and of the part a write has taken. */
  private pendingChars = 0;
  private inFlightChars = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Background passes running (beginPass): new messages are then written in full files. */
  private passes = 0;
  /** Pending messages a write has taken (they stay searchable from `pending` until it is done). */
  private inFlight = 0;
  /** A write asked for because FLUSH_AT messages wait, not started yet. */
  private fullFlushQueued = false;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Set when a file failed to open: the index is thrown away at the next write. */
  private damaged: string | undefined;
  readonly progress: SearchIndexProgress = { state: "loading", indexed: 0, total: 0 };
  /**
   * Set when a background pass (indexFiller.ts) is to compare the index with the account: opening
   * the files then leaves `status` at "loading" until that pass says "building" or "ready".
   */
  passDue = false;
  /** Messages whose SEARCH answer came from the index, since start (tests, diagnostics). */
  answered = 0;
  /**
   * Awaited before a merge reads each file (indexFiller.ts: a lull in client work, waited for a
   * bounded time): a merge steps aside for clients between files.
   */
  pause: (() => Promise<void>) | undefined;

  constructor(
    private readonly dir: string,
    private readonly key: Uint8Array,
    private readonly log: Log,
    /** SEGMENT_CHARS, smaller in tests. */
    private readonly segmentChars = SEGMENT_CHARS,
  ) {}

  /** Opens the folder once (lock, listing, a check of every file); false when there is no index. */
  open(): Promise<boolean> {
    this.ready ??= this.load().catch((err: unknown) => {
      this.progress.state = "off";
      this.progress.detail = err instanceof Error ? err.message : String(err);
      if (err instanceof Locked)
        this.log("info", `the search index ${this.dir} is in use by another process: searching without it`);
      else
        this.log(
          "warn",
          `no search index on this run (${this.progress.detail}): searches scan every message`,
        );
      return false;
    });
    return this.ready;
  }

  private async load(): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.lock = await lockFolder(this.dir);
    const files = await readdir(this.dir);
    this.names = files.filter((f) => f.endsWith(SEGMENT_SUFFIX)).sort();
    try {
      let count = 0;
      // The small meta sections only: the first search does not wait for the texts, whose AEAD
      // is checked whenever a search opens them (reading 100 MB at every start would not pay).
      // They stay open for the searches to come (segmentCache.ts).
      for (const name of this.names) {
        const { seg, release } = await this.segments.lease(join(this.dir, name), name, this.key);
        count += seg.ids.length;
        this.counts.set(name, seg.ids.length);
        this.inFiles += seg.ids.length;
        this.fileBytes.set(name, seg.fileBytes);
        this.filters.set(name, IdFilter.of(seg.ids, seg.ids.length));
        release();
        await nextTurn(); // a client's command between two files
      }
      if (files.includes(REMOVED))
        this.removed = new Set(this.openRemoved(await readFile(join(this.dir, REMOVED))));
      for (const name of this.names) this.countDead(name);
      this.progress.indexed = count;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (err instanceof OtherSegmentVersion)
        this.log("info", `the search index ${this.dir} is of another format (${why}): building it again`);
      else this.log("warn", `the search index ${this.dir} does not open (${why}): building it again`);
      await this.discard();
    }
    if (!this.passDue) this.progress.state = "ready";
    return true;
  }

  private openRemoved(sealed: Uint8Array): string[] {
    const ids = JSON.parse(
      Buffer.from(open(this.key, sealed, { purpose: "search-index", path: "search-index/removed" })).toString(
        "utf8",
      ),
    ) as unknown;
    if (!Array.isArray(ids)) throw new Error("the list of removed messages is not a list");
    return ids as string[];
  }

  /** Removes every file of the index (kept: the lock). */
  private async discard(): Promise<void> {
    this.segments.clear();
    for (const f of await readdir(this.dir)) if (f !== "lock") await rm(join(this.dir, f), { force: true });
    this.names = [];
    this.counts.clear();
    this.inFiles = 0;
    this.fileBytes.clear();
    this.filters.clear();
    this.dead.clear();
    this.removed.clear();
    this.removedVersions.clear();
    this.progress.indexed = this.pending.length;
    this.damaged = undefined;
  }

  /** A file failed to open during a search: stop trusting the index; the filler builds it again. */
  markDamaged(reason: string): void {
    if (this.damaged) return;
    this.damaged = reason;
    // Nothing in the files counts any more: status shows the rebuild from now on.
    this.progress.state = "building";
    this.progress.indexed = this.pending.length;
    this.log("warn", `the search index ${this.dir} is damaged (${reason}): building it again`);
    this.writing = this.writing.then(() => this.discard()).catch(() => undefined);
    this.onDamaged?.();
  }

  /** Called when the index was found damaged, so that it is filled again. */
  onDamaged: (() => void) | undefined;

  add(doc: SearchDoc): void {
    if (this.closed || this.progress.state === "off" || this.pendingIds.has(doc.id)) return;
    // Back in (an undone expunge): files that may still hold it show it again.
    if (this.removed.delete(doc.id)) this.countRemoval(doc.id, -1);
    this.pending.push(doc);
    this.pendingIds.add(doc.id);
    this.pendingChars += docChars(doc);
    this.progress.indexed++;
    // One write per FLUSH_AT messages: not one per message added while a write is queued or runs
    // (each wrote whatever had come meanwhile: an import left files of a few messages).
    const waiting = this.pending.length - this.inFlight;
    if (waiting < FLUSH_AT && this.pendingChars - this.inFlightChars < this.segmentChars) this.flushLater();
    else if (!this.fullFlushQueued) {
      this.fullFlushQueued = true;
      void this.flush();
    }
  }

  /**
   * Adds `doc` unless the index holds its message already (waiting in memory or in a file): false
   * then. The background pass and the build of a message just stored can both reach one message
   * (the pass lists it between its op row and its build); `add` alone dedups only against what
   * waits in memory, so the second came in once the first was written: counted twice in
   * `progress.indexed` and kept in two files.
   */
  async addOnce(doc: SearchDoc): Promise<boolean> {
    if (await this.holds(doc.id)) return false;
    // Checked again: the other path may have added it while the files were looked at.
    if (this.pendingIds.has(doc.id)) return false;
    this.add(doc);
    return true;
  }

  /** Whether the index holds `id` (not removed): in memory, or in a file its id filter points to. */
  private async holds(id: string): Promise<boolean> {
    if (this.pendingIds.has(id)) return true;
    if (this.removed.has(id) || !(await this.open())) return false;
    for (const name of [...this.names]) {
      if (!this.filters.get(name)?.mayHold(id)) continue;
      let lease: SegmentLease;
      try {
        lease = await this.segments.lease(join(this.dir, name), name, this.key);
      } catch {
        continue; // merged away meanwhile, or damaged (a search marks that)
      }
      try {
        if (this.positionIn(lease.seg, id) >= 0) return true;
      } finally {
        lease.release();
      }
    }
    return this.pendingIds.has(id);
  }

  /** Writes what waits after a quiet second, unless a background pass runs (it writes at its end). */
  private flushLater(): void {
    clearTimeout(this.flushTimer);
    if (this.passes > 0) return;
    this.flushTimer = setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
    this.flushTimer.unref();
  }

  /**
   * A background pass (indexFiller.ts) begins: until it ends, what it adds is written when
   * FLUSH_AT messages wait, not after each quiet second. A pass stepping aside for clients pauses
   * for seconds at a time, and wrote a file at each pause: a rebuild of 10,000 messages left 31
   * files, and every search opens every file. What waits is searchable from memory meanwhile.
   */
  beginPass(): void {
    this.passes++;
    clearTimeout(this.flushTimer);
  }

  /** The pass ended: writes what waits. */
  endPass(): Promise<void> {
    this.passes = Math.max(0, this.passes - 1);
    return this.flush();
  }

  remove(ids: readonly string[]): void {
    if (this.closed || this.progress.state === "off" || ids.length === 0) return;
    let held = 0;
    for (const id of ids) {
      if (this.removed.has(id)) continue;
      this.removed.add(id);
      if (this.countRemoval(id, 1) || this.pendingIds.has(id)) held++;
    }
    if (ids.some((id) => this.pendingIds.has(id))) {
      this.pending = this.pending.filter((d) => !this.removed.has(d.id));
      this.pendingIds = new Set(this.pending.map((d) => d.id));
      this.pendingChars = sumChars(this.pending);
    }
    // Only what it held: an expunged message never indexed (its build dropped, another
    // computer's mail) took the count down too, and under the load tool it reached 0 in minutes.
    this.progress.indexed = Math.max(0, this.progress.indexed - held);
    this.flushLater();
  }

  /**
   * An id entered (+1) or left (-1) `removed`: the files that may hold it are that much more worn.
   * Whether any file may hold it.
   */
  private countRemoval(id: string, change: 1 | -1): boolean {
    let any = false;
    for (const [name, filter] of this.filters) {
      if (!filter.mayHold(id)) continue;
      any = true;
      this.dead.set(name, Math.max(0, (this.dead.get(name) ?? 0) + change));
      this.removedVersions.set(name, (this.removedVersions.get(name) ?? 0) + 1);
    }
    return any;
  }

  /** Writes what waits in memory; resolves when it is on disk (errors are logged). */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.writing = this.writing
      .then(() => this.writePending())
      .catch((err: unknown) =>
        this.log("warn", `cannot write the search index in ${this.dir}: ${String(err)}`),
      );
    return this.writing;
  }

  private async writePending(): Promise<void> {
    if (!(await this.open())) return;
    // A copy: add() goes on pushing to `pending` while the file is written.
    const docs = this.pending.slice();
    this.fullFlushQueued = false;
    if (docs.length > 0) {
      this.inFlight = docs.length;
      this.inFlightChars = sumChars(docs);
      try {
        const name = this.writeSegmentName();
        const parts = encodeSegmentParts(this.key, name, docs);
        await this.writeFile(name, parts);
        this.names.push(name);
        this.register(name, docs, byteLength(parts));
      } finally {
        this.inFlight = 0;
        this.inFlightChars = 0;
      }
      // Searches read pending docs from memory until the file holds them. By id: remove() may
      // have taken some out of `pending` meanwhile.
      const written = new Set(docs.map((d) => d.id));
      this.pending = this.pending.filter((d) => !written.has(d.id));
      this.pendingIds = new Set(this.pending.map((d) => d.id));
      this.pendingChars = sumChars(this.pending);
    }
    await this.writeRemoved();
    // Worn files first (their removed share), then small ones once they are many; a merge reads
    // at most MERGE_FILES_AT_ONCE files and the next write takes the rest.
    const worn = this.names.filter(
      (n) => (this.dead.get(n) ?? 0) > REWRITE_DEAD_SHARE * (this.counts.get(n) ?? 0),
    );
    // Small: few messages and few bytes (a file cut at FLUSH_CHARS holds few long messages and is
    // not small, or every merge's output would be merged again).
    const small = this.names.filter(
      (n) =>
        (this.counts.get(n) ?? 0) < SEGMENT_DOCS / 2 && (this.fileBytes.get(n) ?? 0) < this.segmentChars / 2,
    );
    const picked = new Set(worn);
    if (small.length > MERGE_SMALL_FILES) for (const n of small) picked.add(n);
    const slice: string[] = [];
    let reading = 0;
    for (const n of picked) {
      if (slice.length > 0 && reading + (this.counts.get(n) ?? 0) > MERGE_DOCS_AT_ONCE) break;
      slice.push(n);
      reading += this.counts.get(n) ?? 0;
    }
    if (slice.length === 0) return;
    await this.merge(slice);
    if (slice.length < picked.size) this.flushLater();
  }

  /** A file was written: its message count, its id filter, and the removed ids it may hold. */
  private register(name: string, docs: readonly SearchDoc[], bytes: number): void {
    this.counts.set(name, docs.length);
    this.inFiles += docs.length;
    this.fileBytes.set(name, bytes);
    this.filters.set(
      name,
      IdFilter.of(
        docs.map((d) => d.id),
        docs.length,
      ),
    );
    this.countDead(name);
  }

  private countDead(name: string): void {
    const filter = this.filters.get(name);
    let dead = 0;
    if (filter) for (const id of this.removed) if (filter.mayHold(id)) dead++;
    this.dead.set(name, dead);
  }

  private writeRemoved(): Promise<void> {
    return this.writeFile(
      REMOVED,
      seal(this.key, Buffer.from(JSON.stringify([...this.removed])), {
        purpose: "search-index",
        path: "search-index/removed",
      }),
    );
  }

  private writeSegmentName(): string {
    return `${Date.now().toString(16).padStart(12, "0")}-${randomBytes(6).toString("hex")}${SEGMENT_SUFFIX}`;
  }

  private writeFile(name: string, parts: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return replaceFile(
      this.dir,
      name,
      async (fh) => {
        await fh.chmod(0o600);
        await writeAllFully(fh, parts instanceof Uint8Array ? [parts] : parts, 0);
      },
      () => syncFolder(this.dir),
    );
  }

  /**
   * Rewrites files `old` into full ones without removed or repeated ids, stepping aside for
   * clients before each file it reads (`pause`). Then forgets the removed ids no file may hold any
   * more: not those removed while it ran, which a file it wrote may hold (a merge that forgot
   * every removed id at its end lost those, and the index grew to 101,830 messages of an account
   * of ~20,000 in a 30-minute load run).
   */
  private async merge(files: readonly string[]): Promise<void> {
    const old = [...files];
    const seen = new Set<string>();
    const written: string[] = [];
    let batch: SearchDoc[] = [];
    let batchChars = 0;
    const emit = async () => {
      if (batch.length === 0) return;
      await nextTurn(); // clients' commands first: the encoding below is synchronous
      const name = this.writeSegmentName();
      const parts = encodeSegmentParts(this.key, name, batch);
      await this.writeFile(name, parts);
      written.push(name);
      this.register(name, batch, byteLength(parts));
      batch = [];
      batchChars = 0;
    };
    for (const name of old) {
      await this.pause?.();
      await nextTurn();
      const seg = await Segment.open(join(this.dir, name), name, this.key);
      try {
        for (const doc of await seg.docs()) {
          if (this.removed.has(doc.id) || seen.has(doc.id)) continue;
          seen.add(doc.id);
          batch.push(doc);
          batchChars += docChars(doc);
          // Cut at segmentChars (FLUSH_CHARS) as new writes are: encoding 1,000 of the load tool's messages
          // (16.8 MB) took 0.4-1 s of synchronous CPU on the loaded 2-core machine, every client
          // waiting meanwhile; 4 Mi characters take about a quarter of that.
          if (batch.length >= SEGMENT_DOCS || batchChars >= this.segmentChars) await emit();
        }
      } finally {
        await seg.close();
      }
    }
    await emit();
    this.names = [...written, ...this.names.filter((n) => !old.includes(n))];
    for (const name of old) {
      this.segments.forget(name);
      await rm(join(this.dir, name), { force: true });
      this.inFiles -= this.counts.get(name) ?? 0;
      this.counts.delete(name);
      this.fileBytes.delete(name);
      this.filters.delete(name);
      this.dead.delete(name);
      this.removedVersions.delete(name);
    }
    await syncFolder(this.dir);
    const filters = [...this.filters.values()];
    const before = this.removed.size;
    // No file may hold these: no file's ids as searches see them change (removedVersions).
    for (const id of this.removed) if (!filters.some((f) => f.mayHold(id))) this.removed.delete(id);
    if (this.removed.size !== before) await this.writeRemoved();
  }

  /**
   * Messages the index holds, in files (removed ones not yet rewritten included) and in memory:
   * exact, unlike `progress.indexed`, which only a background pass sets right (search.ts decides
   * with it whether a search skips files by their id filters).
   */
  get held(): number {
    return this.inFiles + this.pending.length;
  }

  /** How many messages the files hold, removed ones included, and how many are removed (tests). */
  sizes(): { files: number; held: number; removed: number } {
    let held = 0;
    for (const n of this.names) held += this.counts.get(n) ?? 0;
    return { files: this.names.length, held, removed: this.removed.size };
  }

  /** The files kept open, the messages of their metas and their opened pieces' bytes (tests). */
  get keptOpen(): { files: number; docs: number; pieceBytes: number } {
    return this.segments.size;
  }

  /** Whether `id` waits in memory, not yet in a file. */
  isPending(id: string): boolean {
    return this.pendingIds.has(id);
  }

  /** Ids the index holds, as a Set (tests; the filler walks them with eachIndexedId). */
  async indexedIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    await this.eachIndexedId((id) => ids.add(id));
    return ids;
  }

  /**
   * Calls `visit` with each id the index holds: those waiting in memory, then each file's (an id
   * in two files, before a merge, comes twice). One file's ids are in memory at a time.
   */
  async eachIndexedId(visit: (id: string) => void): Promise<void> {
    for (const id of [...this.pendingIds]) if (!this.removed.has(id)) visit(id);
    if (!(await this.open())) return;
    await this.writing;
    for (const name of [...this.names]) {
      const { seg, release } = await this.segments.lease(join(this.dir, name), name, this.key);
      try {
        for (const id of seg.ids) if (!this.removed.has(id)) visit(id);
      } finally {
        release();
      }
    }
  }

  /**
   * Every indexed message, batch by batch (what waits in memory first, then each file). A file
   * that does not open marks the index damaged and is skipped: its messages are then scanned.
   * With `within` (the ids a search is about, when few), a file that surely holds none of them is
   * not opened, and of the messages waiting in memory only those are served; the others are then
   * not in any batch. With `pause`, awaited before each file is opened (no file is held then), a
   * walk in the background steps aside for clients (searchWarmUp.ts); it ends the walk on false.
   */
  async *batches(within?: readonly string[], pause?: () => Promise<boolean>): AsyncIterable<IndexedBatch> {
    const filtering = within !== undefined && within.length <= FILTER_MAX_IDS;
    // Under load up to FLUSH_AT messages wait in memory (no quiet second comes), and a header
    // key looked at every value of every one of them: only those the search is about.
    const wanted = filtering && this.pending.length > within.length ? new Set(within) : undefined;
    const docs = wanted ? this.pending.filter((d) => wanted.has(d.id)) : [...this.pending];
    if (docs.length > 0) {
      const ids = docs.map((d) => d.id);
      yield {
        ids,
        positionOf: (id) => ids.indexOf(id),
        openField: () => Promise.resolve(),
        facts: (i) => docFacts(docs[i]!),
        candidates: (_field, needle) =>
          Promise.resolve(
            Uint8Array.from(docs, (d) =>
              d.fields.some((v, k) => k % 2 === 1 && v.includes(needle)) ? 1 : 0,
            ),
          ),
      };
    }
    if (!(await this.open()) || this.damaged) return;
    const hashed = filtering ? IdFilter.hash(within) : undefined;
    for (const name of [...this.names]) {
      const filter = hashed && this.filters.get(name);
      if (filter && !filter.mayHoldAny(hashed)) continue;
      if (pause && (!(await pause()) || this.damaged || this.closed)) return;
      let lease: SegmentLease;
      try {
        lease = await this.segments.lease(join(this.dir, name), name, this.key);
      } catch (err) {
        if (isFileGone(err)) continue; // merged away meanwhile: its messages are in a newer file
        this.markDamaged(err instanceof Error ? err.message : String(err));
        return;
      }
      const seg = lease.seg;
      try {
        const filter = this.filters.get(name);
        yield {
          ids: this.idsShown(seg, name),
          positionOf: (id) =>
            this.removed.has(id) || (filter && !filter.mayHold(id)) ? -1 : this.positionIn(seg, id),
          facts: (i) => seg.facts(i),
          candidates: (field, needle) => seg.candidates(field, needle),
          openField: async (field) => void (await seg.fieldPiece(field)),
        };
      } finally {
        lease.release();
      }
    }
  }

  /**
   * A file's ids, a removed one as "" (searches then scan it); the same array until an id the file
   * may hold is removed or comes back, so that a search can keep what it worked out per file
   * (search.ts, searchPlaces.ts).
   */
  private idsShown(seg: Segment, name: string): readonly string[] {
    const removed = this.removed;
    if (removed.size === 0 || (this.dead.get(name) ?? 0) === 0) return seg.ids;
    const version = this.removedVersions.get(name) ?? 0;
    const kept = this.shownIds.get(seg);
    if (kept?.version === version) return kept.ids;
    const ids = seg.ids.map((id) => (removed.has(id) ? "" : id));
    this.shownIds.set(seg, { version, ids });
    return ids;
  }

  /** Where `id` is in a file kept open, or -1 (the map is made once per open file). */
  private positionIn(seg: Segment, id: string): number {
    let map = this.positions.get(seg);
    if (!map) {
      map = new Map();
      seg.ids.forEach((x, k) => map!.set(x, k));
      this.positions.set(seg, map);
    }
    return map.get(id) ?? -1;
  }

  /** Writes what waits and releases the folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.segments.clear();
    await this.lock?.release();
    this.lock = undefined;
  }
}

function isFileGone(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

function fieldValues(doc: SearchDoc, name: string): string[] {
  const out: string[] = [];
  for (let k = 0; k < doc.fields.length; k += 2) if (doc.fields[k] === name) out.push(doc.fields[k + 1]!);
  return out;
}

function docFacts(doc: SearchDoc): SearchFacts {
  return {
    size: doc.size,
    internalDate: doc.internalDate,
    sentDay: () => doc.sentDay,
    headerText: () => doc.headerText,
    // A name starting with NUL is the index's own (addressField), never a header's.
    headerValues: (field) => (field.startsWith("\0") ? [] : fieldValues(doc, field.toLowerCase())),
    addressTexts: (field) => fieldValues(doc, addressField(field)),
    bodyText: () => Promise.resolve(doc.bodyText),
    headerTextHas: (needle) => mayContain(doc.headerSignature, needle) && doc.headerText.includes(needle),
    bodyHas: (needle) => Promise.resolve(mayContain(doc.signature, needle) && doc.bodyText.includes(needle)),
  };
}

/** Characters of a message's texts: what it holds in memory while it waits, roughly. */
function docChars(doc: SearchDoc): number {
  let chars = doc.headerText.length + doc.bodyText.length;
  for (const f of doc.fields) chars += f.length;
  return chars;
}

function sumChars(docs: readonly SearchDoc[]): number {
  let chars = 0;
  for (const d of docs) chars += docChars(d);
  return chars;
}

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
