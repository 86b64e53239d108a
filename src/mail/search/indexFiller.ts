/**
 * Keeps the search index up with the account: each message stored here is indexed from the bytes
 * in hand, just after it is stored (off the APPEND's acknowledgement path); copies and messages
 * that other computers added (or that this one stored before it had an index) are found by a
 * background pass that compares the index with every mailbox and reads what it lacks, a few
 * bodies at a time. The pass steps aside for clients: it starts after a quiet spell and waits for a
 * lull in client work (MessageStore.activity: commands and their reads) before each body it
 * fetches and each message it indexes, and its own reads are not counted as client work. On a
 * second computer, whose index is built from storage, it would otherwise compete with the client's
 * first sync for the host and the CPU. Progress goes to `status`.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { NotFound } from "../../errors.ts";
import type { Log } from "../../log.ts";
import type { MessageMeta } from "../metaCodec.ts";
import type { MessageStore } from "../messageStore.ts";
import { cachingBodyReader, type BodyReader } from "../read/bodyReader.ts";
import { messageText } from "../read/messageText.ts";
import { searchDoc, type SearchDoc } from "./searchDoc.ts";
import type { SearchIndex } from "./searchIndex.ts";
import { unindexed, type MessageColumns } from "./unindexed.ts";

/** Messages read per round of the background pass, and bodies fetched at once. */
const FILL_BATCH = 100;
const FILL_PARALLEL = 4;
/** After a failed pass (storage away), the next one starts this much later. */
const RETRY_MS = 60_000;
/**
 * Messages just stored wait for a lull in client work before they are indexed, unless this many
 * bytes of them wait already (this bounds the work a burst of APPENDs or an `import` defers):
 * then each is indexed at once. A bound of 1,000 messages had a whole burst built at the lull
 * after it, where the bench's peak was (issue 11).
 */
const WAITING_MAX_BYTES = 8 * 1024 * 1024;
/**
 * Of the messages waiting, the bytes of at most this many are kept; one stored past that is read
 * back from storage when its build comes. Held bytes outlive the APPEND that brought them, so V8
 * moves them to the old generation, where they stay as garbage until a full collection (issue 11).
 */
const HELD_MAX_BYTES = 2 * 1024 * 1024;
/** The first pass waits this long after login: a client's first sync goes first. */
const FIRST_PASS_DELAY_MS = 3000;
/** A pass begins after this long without client work (a first sync is a stream of commands). */
const START_QUIET_MS = 500;
/**
 * ... or after this long waiting for it: under client work that never pauses that long (the load
 * tool's 10 clients) the pass never began, so `status` showed the index "loading" with a count that
 * only ever went down, and ids no mailbox holds were never dropped (issue 18). Begun, the pass
 * compares the index with the account (listings only) and reads bodies at lulls of QUIET_MS, as
 * before.
 */
export const START_WAIT_MAX_MS = 10_000;
/**
 * A merge of index files waits for a lull in client work before each file it reads, but no longer
 * than this: under load that never pauses (10 load clients) it still goes on, one file (a few tens
 * of milliseconds of CPU) per this long, so that the removed messages it drops do not pile up.
 */
const MERGE_WAIT_MAX_MS = 2000;

export interface IndexSource {
  /** The messages of every mailbox of the account, as their UidIndexes keep them. */
  mailboxMessages(): Promise<MessageColumns[]>;
  messages: MessageStore;
  /**
   * The store is a folder on this computer (the embedded one): reading a message back is a file
   * read, not a round trip to a host, so closing still indexes what waits (stored).
   */
  storeIsLocal?: boolean;
}

/** How an IndexFiller waits and what it keeps (Account's searchIndex* options). */
export interface IndexFillerOptions {
  /** How long after the first login the first background pass waits (FIRST_PASS_DELAY_MS). */
  firstPassDelayMs?: number;
  /** How long a background pass waits for a lull before it begins anyway (START_WAIT_MAX_MS). */
  startWaitMaxMs?: number;
  /** Every waiting message's bytes are kept, not only HELD_MAX_BYTES of them (an `import`). */
  holdsAll?: boolean;
}

export class IndexFiller {
  private running: Promise<void> | undefined;
  /** Background passes begun since start: a build looks in the index's files only past one. */
  private passesBegun = 0;
  private again = false;
  private closed = false;
  private readonly abort = new AbortController();
  private retry: NodeJS.Timeout | undefined;
  private firstPass = true;
  /** Messages whose text the index cannot hold (searchDoc.ts): scanned, not read again this run. */
  private readonly unindexable = new Set<string>();
  /** Builds of messages just stored, in order. */
  private building: Promise<void> = Promise.resolve();
  /** Bytes of stored messages whose build has not begun. */
  private waitingBytes = 0;
  /** Of those, the bytes kept in memory for their build (HELD_MAX_BYTES). */
  private heldBytes = 0;
  /**
   * Messages whose build is queued, and those of them deleted meanwhile: such a build is dropped.
   * Under load a message waits for its build (a lull, or the cap) longer than a client takes to
   * expunge it, and the build then indexed it as live (`add` takes an id off the removed list): in
   * a 300 s load run half of the index's files were such messages.
   */
  private readonly queued = new Set<string>();
  private readonly deletedWhileQueued = new Set<string>();
  /** Messages deleted while a background pass runs: it does not index them after reading them. */
  private deletedDuringPass: Set<string> | undefined;

  constructor(
    private readonly index: SearchIndex,
    private readonly source: IndexSource,
    private readonly log: Log,
    private readonly options: IndexFillerOptions = {},
  ) {
    index.onDamaged = () => this.start();
    index.pause = () => {
      const until = performance.now() + MERGE_WAIT_MAX_MS;
      return this.source.messages.activity.lull(
        this.abort.signal,
        undefined,
        () => performance.now() > until,
      );
    };
  }

  /**
   * A message was stored here: index it from its bytes, after the caller has its answer and once
   * client work pauses. A client filing messages one after another sends its next APPEND within a
   * millisecond of the answer, and indexing right after the answer (0.3-0.5 ms of CPU for a
   * 40 KB message here) made that APPEND wait; SEARCH meanwhile scans what the index lacks.
   */
  stored(mailId: string, meta: MessageMeta, raw: Uint8Array): void {
    if (this.closed) return;
    const size = raw.length;
    this.waitingBytes += size;
    // The closure below must not name `raw`: a dropped message's bytes are then free at once.
    const held = this.options.holdsAll || this.heldBytes + size <= HELD_MAX_BYTES ? raw : undefined;
    if (held) this.heldBytes += size;
    this.queued.add(mailId);
    const passes = this.passesSince();
    this.building = this.building.then(async () => {
      // Decided here, not when the message was stored: the builds run one after another, so a
      // message stored past the cap still waits behind those stored before it. Under client work
      // that never pauses, the oldest is built as soon as what waits passes the cap.
      await nextTurn();
      await this.source.messages.activity.lull(
        this.abort.signal,
        undefined,
        () => this.waitingBytes > WAITING_MAX_BYTES,
      );
      this.waitingBytes -= size;
      try {
        if (this.dequeue(mailId)) return;
        // Closing: not a read from a far host per message still waiting (a round trip each); a
        // background pass at the next start indexes them. From a local folder they are read back:
        // an `import` left ~6 MiB of messages (327 of the bench's 10,000) out of the index, which
        // the server's first SEARCH then scanned (issue 11: SUBJECT 24 -> 73 ms).
        if (!held && this.closed && !this.source.storeIsLocal) return;
        const read: BodyReader = held
          ? (_m, start, length) => Promise.resolve(held.subarray(start, start + length))
          : cachingBodyReader(this.source.messages.background).read;
        const text = await messageText(meta, read);
        const doc = searchDoc(mailId, meta, text);
        // Already added by a background pass that listed it: counted in `total` by that pass.
        if (doc && !(await this.add(doc, passes))) return;
        if (!doc) this.unindexable.add(mailId);
        this.index.progress.total++;
      } catch (err) {
        // Read back, it was gone: expunged on another computer meanwhile (the next pass sees it).
        if (!held && err instanceof NotFound) return;
        this.log("warn", `cannot index a message for search: ${String(err)}`);
      } finally {
        if (held) this.heldBytes -= size;
      }
    });
  }

  /** Messages were copied here (new ids, same content): indexed from storage, after the answer. */
  copied(mailIds: readonly string[]): void {
    if (this.closed) return;
    for (const id of mailIds) this.queued.add(id);
    const passes = this.passesSince();
    this.building = this.building.then(async () => {
      await nextTurn();
      const wanted = mailIds.filter((id) => !this.dequeue(id));
      if (wanted.length === 0) return;
      try {
        const metas = await this.source.messages.getMeta(wanted);
        const reader = cachingBodyReader(this.source.messages);
        for (const [id, meta] of metas) {
          const doc = searchDoc(id, meta, await messageText(meta, reader.read));
          if (doc && !(await this.add(doc, passes))) continue;
          if (!doc) this.unindexable.add(id);
          this.index.progress.total++;
        }
      } catch (err) {
        this.log("warn", `cannot index copied messages for search: ${String(err)}`);
      }
    });
  }

  /**
   * Whether a background pass may have listed a message stored now by the time its build runs:
   * call when it is stored, and the returned function when it is built.
   */
  private passesSince(): () => boolean {
    const begun = this.passesBegun;
    const running = this.running !== undefined;
    return () => running || this.running !== undefined || this.passesBegun !== begun;
  }

  /**
   * Adds a build's message; false when a background pass added it already. Only then are the
   * index's files looked at (`addOnce`): a build with no pass around adds as it always did.
   */
  private async add(doc: SearchDoc, passes: () => boolean): Promise<boolean> {
    if (passes()) return this.index.addOnce(doc);
    this.index.add(doc);
    return true;
  }

  /** Messages were deleted here. */
  deleted(mailIds: readonly string[]): void {
    for (const id of mailIds) {
      if (this.queued.has(id)) this.deletedWhileQueued.add(id);
      this.deletedDuringPass?.add(id);
    }
    this.index.remove(mailIds);
    this.index.progress.total = Math.max(0, this.index.progress.total - mailIds.length);
  }

  /** Takes `mailId` off the queue; true when it was deleted while it waited (its build is dropped). */
  private dequeue(mailId: string): boolean {
    this.queued.delete(mailId);
    return this.deletedWhileQueued.delete(mailId);
  }

  /** Starts a background pass (or another one after the one running). */
  start(): void {
    if (this.closed) return;
    if (this.firstPass) {
      this.firstPass = false;
      // The index's files are opened at the first lull (their metas stay open, segmentCache.ts),
      // not at the first search: that SEARCH waited ~15 ms for them at 1,000 messages.
      this.index.passDue = true;
      void this.source.messages.activity.lull(this.abort.signal).then(() => {
        if (!this.closed) void this.index.open();
      });
      this.retry = setTimeout(() => this.start(), this.options.firstPassDelayMs ?? FIRST_PASS_DELAY_MS);
      this.retry.unref();
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.start();
      }
    });
  }

  private async run(): Promise<void> {
    const progress = this.index.progress;
    const activity = this.source.messages.activity;
    const reads = this.source.messages.background;
    /** Resolves at the next lull in client work, to false once the filler is closed. */
    const lull = async () => {
      await activity.lull(this.abort.signal);
      return !this.closed;
    };
    this.deletedDuringPass = new Set();
    this.passesBegun++;
    try {
      const startBy = performance.now() + (this.options.startWaitMaxMs ?? START_WAIT_MAX_MS);
      await activity.lull(this.abort.signal, START_QUIET_MS, () => performance.now() > startBy);
      if (this.closed || !(await this.index.open())) return;
      const { total, missing, stale } = await unindexed(
        await this.source.mailboxMessages(),
        (visit) => this.index.eachIndexedId(visit),
        this.unindexable,
      );
      this.dropStale(stale);
      progress.total = total;
      progress.indexed = total - missing.length;
      delete progress.detail;
      if (missing.length > 0) {
        progress.state = "building";
        this.log("info", `building the search index: ${missing.length} of ${total} messages to read`);
      }
      const began = performance.now();
      let done = 0;
      // Full files, not one per pause for a client (searchIndex.ts, beginPass).
      this.index.beginPass();
      try {
        for (let i = 0; i < missing.length && !this.closed; i += FILL_BATCH) {
          const batch = missing.slice(i, i + FILL_BATCH);
          await lull();
          const metas = await reads.getMeta(batch);
          const reader = cachingBodyReader(reads);
          // Read-ahead only: a body it cannot read fails that message's own read below, or nothing.
          const prefetch = reader.prefetch([...metas.values()], FILL_PARALLEL, lull).catch(() => undefined);
          for (const id of batch) {
            if (!(await lull())) break;
            const meta = metas.get(id);
            let text: string | undefined;
            try {
              text = meta && (await messageText(meta, reader.read));
            } catch (err) {
              // Expunged by a session since the listing (issue 18's load): the next pass sees it gone.
              if (!(err instanceof NotFound)) throw err;
            }
            if (meta && text !== undefined && !this.deletedDuringPass?.has(id)) {
              const doc = searchDoc(id, meta, text);
              if (!doc) this.unindexable.add(id);
              // Indexed meanwhile by the build of a message just stored, which counted it in
              // `total` again, though this pass's listing had it already.
              else if (!(await this.index.addOnce(doc))) progress.total = Math.max(0, progress.total - 1);
            }
            done++;
            await nextTurn(); // client commands first
          }
          await prefetch;
          const seconds = (performance.now() - began) / 1000;
          progress.rate = Math.round(done / Math.max(seconds, 0.001));
          progress.etaSeconds = Math.round((missing.length - done) / Math.max(progress.rate, 1));
        }
      } finally {
        await this.index.endPass();
      }
      if (missing.length > 0) this.log("info", `search index built: ${total} messages`);
      progress.state = "ready";
      delete progress.rate;
      delete progress.etaSeconds;
    } catch (err) {
      if (progress.state !== "off") progress.state = "ready";
      progress.detail = `incomplete, trying again in a minute: ${err instanceof Error ? err.message : String(err)}`;
      this.log("warn", `the search index could not be completed: ${progress.detail}`);
      this.retry = setTimeout(() => this.start(), RETRY_MS);
      this.retry.unref();
    } finally {
      this.deletedDuringPass = undefined;
    }
  }

  /**
   * Removes from the index the messages no mailbox holds: removals it never heard of (a kill -9
   * lost those it had not written yet) and a removed list an older build cut short. Left in, they
   * stayed in the files for good and made every merge and rebuild read and write them again. A
   * message wrongly taken for gone (a copy indexed before its mailbox lists it) is only scanned
   * until the next pass indexes it again.
   */
  /**
   * Takes out of the index what no mailbox held when the pass walked it (`unindexed`), unless it
   * waits in memory (stored a moment ago, its mailbox not yet told).
   */
  private dropStale(ids: readonly string[]): void {
    const stale = ids.filter((id) => !this.index.isPending(id));
    if (stale.length === 0) return;
    this.log("info", `search index: dropping ${stale.length} messages no mailbox holds any more`);
    this.index.remove(stale);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    clearTimeout(this.retry);
    await this.running;
    await this.building;
  }
}
