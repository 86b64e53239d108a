/**
 * The background cache fill (issue 11): after a login, copy the account's mail into the local
 * encrypted cache in front of a remote store, so that the next reads, and every later session, are
 * local. A pass:
 *
 * 1. syncs every mailbox and collects the live message ids;
 * 2. drops cached copies of messages no mailbox holds any more (expunged on another computer);
 * 3. reads every meta row (through the store: a row not cached yet is fetched and kept), 500 per
 *    batch, which also gives each message's date and body size;
 * 4. unless the mode is "meta", fetches bodies newest first, a few at a time, as many as fit in
 *    the cache's byte budget, so the fill never evicts a newer body for an older one.
 *
 * Before each step it waits for a lull in client work (MessageStore.activity), so a client's
 * commands never queue behind it. One exception: when a client first opens a mailbox, its meta
 * rows (metaAhead.ts) and, unless the mode is "meta", the bodies of its newest messages
 * (newestBodies.ts) are fetched at once, as that client is about to ask for them; its reads join
 * those. INBOX's newest bodies start earlier still, when it opens at login. Passes run again when a mailbox of this process changes and
 * every few minutes (another computer's expunges and new mail). Everything it writes is what the
 * store already writes on a read: sealed objects, copied as the remote holds them.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Log } from "../log.ts";
import type { LocalCache } from "../storage/types.ts";
import type { Account } from "./account.ts";
import { BODY_PREFIX, BODY_ROW_PK, BODY_ROWS_PER_READ, bodyBlobKey, META_PK } from "./messageLayout.ts";
import type { MessageFacts } from "./messageStore.ts";
import { lackingFacts, type ListView } from "./listView.ts";
import { readMetaAhead } from "./metaAhead.ts";
import { fetchNewestBodies } from "./newestBodies.ts";

export type CacheFillMode = "all" | "meta";

export interface CacheFillProgress {
  state: "waiting" | "listing" | "meta" | "bodies" | "done" | "failed" | "stopped";
  mode: CacheFillMode;
  /** Passes finished since the start. */
  passes: number;
  /** Messages in every mailbox, and those whose meta is in the cache. */
  messages: number;
  metaCached: number;
  /** Bodies (and their stored bytes) that fit under the cap, newest first; and those cached. */
  bodiesWanted: number;
  bodiesCached: number;
  bytesWanted: number;
  bytesCached: number;
  /** What the cache holds of bodies now, and its cap (cacheMaxBytes). */
  cacheBytes: number;
  cacheMaxBytes: number;
  /** Over the current step (meta or bodies) of this pass. */
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** Seconds until this pass is done, at the current rate; absent when unknown. */
  etaSeconds?: number;
  /** Cached copies removed because no mailbox holds their message any more. */
  dropped: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface CacheFillOptions {
  mode?: CacheFillMode;
  /** Bodies fetched at once (default 4; the store allows 16, the rest stay for clients). */
  concurrency?: number;
  /** A new pass this long after the last one ends (default 5 minutes). */
  rescanMs?: number;
  /** A new pass this long after a mailbox of this process changed (default 5 s). */
  afterChangeMs?: number;
  /**
   * How long a pass waits after it is started, and then for a lull of client work, before its
   * first step (default START_QUIET_MS). Tests shorten it: each fill waited ~1 s otherwise.
   */
  startQuietMs?: number;
  log?: Log;
}

const META_BATCH = 500;
/**
 * A pass starts after this long without client work: a client's first sync (LIST, SELECT, flags,
 * headers, the newest bodies) is a stream of commands a few milliseconds apart, and it comes first.
 */
const START_QUIET_MS = 500;
/** Bodies fetched between two waits for the cache's writes (it drops copies beyond 64 MiB queued). */
const SETTLE_EVERY = 32;

export class CacheFill {
  private readonly abort = new AbortController();
  private readonly mode: CacheFillMode;
  private readonly progress: CacheFillProgress;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  /** Ids live in the last pass: those gone since are dropped without listing the cache again. */
  private lastLive: Set<string> | undefined;
  private readonly watched = new Map<string, () => void>();
  private readonly offOpened: () => void;
  /** Mailboxes whose meta rows were read ahead at their first open by a client, this run. */
  private readonly warmed = new Set<string>();
  /** Mailboxes whose newest bodies were fetched at their first open (or at login), this run. */
  private readonly bodiesWarmed = new Set<string>();
  /** Those reads still running (close waits for them). */
  private readonly warming = new Set<Promise<unknown>>();

  constructor(
    private readonly account: Account,
    private readonly cache: LocalCache,
    private readonly options: CacheFillOptions = {},
  ) {
    this.mode = options.mode ?? "all";
    this.progress = {
      state: "waiting",
      mode: this.mode,
      passes: 0,
      messages: 0,
      metaCached: 0,
      bodiesWanted: 0,
      bodiesCached: 0,
      bytesWanted: 0,
      bytesCached: 0,
      cacheBytes: cache.blobBytes,
      cacheMaxBytes: cache.maxBlobBytes,
      messagesPerSecond: 0,
      bytesPerSecond: 0,
      dropped: 0,
    };
    this.offOpened = account.onMailboxOpened((mbx, ahead) => this.opened(mbx, ahead));
  }

  /**
   * A client opened `mbx` for the first time: its meta rows are read now (metaAhead.ts) and, unless
   * the mode is "meta", its newest bodies fetched (newestBodies.ts). `ahead`: INBOX opened at login,
   * before the client's SELECT: only the bodies start then. The meta read ahead waits for the
   * SELECT, since it would read every row that the shared list segments, still on their way,
   * spare it.
   */
  private opened(mbx: { id: string; index: Parameters<typeof fetchNewestBodies>[1] }, ahead: boolean): void {
    if (this.stopped) return;
    const store = this.account.store;
    const log = this.options.log;
    const stopped = () => this.stopped;
    const view = this.account.messages.listView;
    if (!ahead && !this.warmed.has(mbx.id)) this.warmMeta(mbx, view);
    if (this.mode !== "all" || this.bodiesWarmed.has(mbx.id)) return;
    this.bodiesWarmed.add(mbx.id);
    const reads = this.account.messages.background;
    this.track(
      fetchNewestBodies(
        {
          store,
          reads,
          cache: this.cache,
          ...(log ? { log } : {}),
        },
        mbx.index,
        stopped,
      ),
    );
  }

  private warmMeta(
    mbx: { id: string; index: Parameters<typeof readMetaAhead>[1] },
    view: ListView | undefined,
  ): void {
    this.warmed.add(mbx.id);
    const store = this.account.store;
    const log = this.options.log;
    const stopped = () => this.stopped;
    this.track(
      readMetaAhead(
        {
          rows: store.rows,
          cache: this.cache,
          ...(store.readParallelism ? { readParallelism: () => store.readParallelism!() } : {}),
          ...(view && this.account.messages.sharedList
            ? { lacking: (ids: string[]) => lackingFacts(view, ids) }
            : {}),
          ...(log ? { log } : {}),
        },
        mbx.index,
        stopped,
      ),
    );
  }

  private track(work: Promise<unknown>): void {
    const done = work.finally(() => this.warming.delete(done));
    this.warming.add(done);
  }

  /** A copy of the progress, for `status`. */
  status(): CacheFillProgress {
    return { ...this.progress, cacheBytes: this.cache.blobBytes };
  }

  /** Starts a pass now, or right after the one running. Resolves when that pass is over. */
  start(): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    clearTimeout(this.timer);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.abort.signal.aborted);
    })().finally(() => {
      this.running = undefined;
      this.schedule(this.options.rescanMs ?? 5 * 60_000);
    });
    return this.running;
  }

  /** Stops after the step in flight; resolves once the fill is idle. */
  async close(): Promise<void> {
    this.abort.abort();
    this.offOpened();
    clearTimeout(this.timer);
    for (const off of this.watched.values()) off();
    this.watched.clear();
    await Promise.all([this.running, ...this.warming]);
    if (this.progress.state !== "failed") this.progress.state = "stopped";
  }

  private schedule(ms: number): void {
    if (this.abort.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.start(), ms);
    this.timer.unref();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted || !this.cache.usable;
  }

  private async pass(): Promise<void> {
    const p = this.progress;
    p.startedAt = new Date().toISOString();
    delete p.finishedAt;
    delete p.error;
    delete p.etaSeconds;
    try {
      // A login is followed by the client's first commands: give them the time to begin.
      const quietMs = this.options.startQuietMs ?? START_QUIET_MS;
      await delay(quietMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      await this.account.messages.activity.lull(this.abort.signal, quietMs);
      if (this.stopped) return;
      p.state = "listing";
      const live = await this.liveIds();
      if (this.stopped) return;
      p.messages = live.size;
      await this.dropGone(live);
      if (this.stopped) return;
      p.state = "meta";
      const facts = await this.readMeta([...live]);
      if (this.stopped) return;
      if (this.mode === "all") {
        p.state = "bodies";
        await this.fetchBodies(facts);
        if (this.stopped) return;
      }
      p.state = "done";
      p.passes++;
      p.finishedAt = new Date().toISOString();
      delete p.etaSeconds;
    } catch (err) {
      // A failed pass costs nothing but misses; the next one (rescan or change) tries again.
      p.state = "failed";
      p.error = err instanceof Error ? err.message : String(err);
      this.options.log?.("warn", `local cache fill: ${p.error}; trying again later`);
    } finally {
      if (!this.cache.usable && !this.abort.signal.aborted) {
        // The cache logged why it stopped; until a restart there is nothing to fill.
        p.state = "failed";
        p.error = "the local cache stopped working (see the log); running without it until restart";
      }
    }
  }

  /** Every message id of every live mailbox, each mailbox synced first. */
  private async liveIds(): Promise<Set<string>> {
    const live = new Set<string>();
    const { mailboxes } = await this.account.listMailboxes();
    for (const info of mailboxes) {
      if (this.stopped) break;
      await this.account.messages.activity.lull(this.abort.signal);
      const mbx = await this.account.listedMailbox(info);
      await mbx.sync();
      for (const id of mbx.index.byId.keys()) live.add(id);
      if (!this.watched.has(mbx.id))
        this.watched.set(
          mbx.id,
          mbx.onChange(() => {
            if (!this.running) this.schedule(this.options.afterChangeMs ?? 5_000);
          }),
        );
    }
    return live;
  }

  /**
   * Drops cached copies of messages no live mailbox holds. The first pass lists the cached meta
   * rows; later ones drop what was live in the pass before and is not now. A message appended on
   * this computer during the pass may be dropped too: a miss later, never a wrong answer.
   */
  private async dropGone(live: Set<string>): Promise<void> {
    const known =
      this.lastLive ??
      new Set([...(await this.cache.rowKeys(META_PK)), ...(await this.cache.rowKeys(BODY_ROW_PK))]);
    this.lastLive = live;
    const gone = [...known].filter((id) => !live.has(id));
    // A message's body row is dropped with its meta row (one absent is not an error).
    const rows = [...gone.map((sk) => ({ pk: META_PK, sk })), ...gone.map((sk) => ({ pk: BODY_ROW_PK, sk }))];
    const blobs = this.cache
      .blobKeys()
      .filter((key) => key.startsWith(BODY_PREFIX) && !live.has(key.slice(BODY_PREFIX.length)));
    if (rows.length === 0 && blobs.length === 0) return;
    await this.cache.forget(rows, blobs);
    const ids = new Set([...gone, ...blobs.map((k) => k.slice(BODY_PREFIX.length))]);
    this.progress.dropped += ids.size;
  }

  /** Reads every meta row through the store (filling the cache), in batches, between client work. */
  private async readMeta(ids: string[]): Promise<Map<string, MessageFacts>> {
    const p = this.progress;
    const facts = new Map<string, MessageFacts>();
    p.metaCached = 0;
    const t0 = performance.now();
    for (let i = 0; i < ids.length && !this.stopped; i += META_BATCH) {
      await this.account.messages.activity.lull(this.abort.signal);
      for (const [id, f] of await this.account.messages.factsOf(ids.slice(i, i + META_BATCH)))
        facts.set(id, f);
      // The cache drops copies beyond what it has queued: let it write this batch first.
      await this.cache.settle();
      p.metaCached = Math.min(ids.length, i + META_BATCH);
      this.rate(p.metaCached, 0, ids.length - p.metaCached, t0);
    }
    return facts;
  }

  /**
   * Fetches, newest first, the bodies that fit under the cap and are not cached yet, body rows
   * first (the cache counts both against the cap).
   */
  private async fetchBodies(facts: Map<string, MessageFacts>): Promise<void> {
    const p = this.progress;
    const newest = [...facts].sort((a, b) => b[1].internalDate - a[1].internalDate);
    const wanted: { key: string; bytes: number }[] = [];
    const wantedRows: { id: string; bytes: number }[] = [];
    let room = this.cache.maxBlobBytes;
    for (const [id, f] of newest) {
      if (f.sealedBytes > room) break;
      room -= f.sealedBytes;
      if (f.inRow) wantedRows.push({ id, bytes: f.sealedBytes });
      else wanted.push({ key: bodyBlobKey(id), bytes: f.sealedBytes });
    }
    const rankRows = () => this.cache.rankRows(BODY_ROW_PK, wantedRows.map((w) => w.id).reverse());
    await this.fetchBodyRows(wantedRows);
    if (this.stopped) return;
    // What is wanted ranks above every other copy, the newest highest: making room for the
    // bodies fetched below evicts older, unwanted copies first, never a wanted one.
    rankRows();
    this.cache.rank(wanted.map((w) => w.key).reverse());
    const missing = wanted.filter((w) => !this.cache.hasBlob(w.key));
    const rowBytes = wantedRows.reduce((n, w) => n + w.bytes, 0);
    p.bodiesWanted = wantedRows.length + wanted.length;
    p.bytesWanted = rowBytes + wanted.reduce((n, w) => n + w.bytes, 0);
    p.bodiesCached = p.bodiesWanted - missing.length;
    p.bytesCached = p.bytesWanted - missing.reduce((n, w) => n + w.bytes, 0);
    const t0 = performance.now();
    let fetched = 0;
    let fetchedBytes = 0;
    let next = 0;
    const worker = async () => {
      while (next < missing.length && !this.stopped) {
        await this.account.messages.activity.lull(this.abort.signal);
        if (this.stopped || next >= missing.length) return;
        const item = missing[next++]!;
        // A whole-object get through the cached store leaves a copy; the bytes are not kept here.
        if (!this.cache.hasBlob(item.key)) await this.account.store.blobs.get(item.key);
        fetched++;
        fetchedBytes += item.bytes;
        p.bodiesCached++;
        p.bytesCached += item.bytes;
        if (fetched % SETTLE_EVERY === 0) await this.cache.settle();
        this.rate(fetched, fetchedBytes, p.bytesWanted - p.bytesCached, t0, true);
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker));
    await this.cache.settle();
    // Fetched newest first, so the newest were the least recently used: put them back on top.
    rankRows();
    this.cache.rank(wanted.map((w) => w.key).reverse());
  }

  /**
   * Body rows not cached yet, read through the store in batches (a ReadBatch each) between
   * client work; the cache keeps what they return.
   */
  private async fetchBodyRows(wanted: { id: string; bytes: number }[]): Promise<void> {
    if (wanted.length === 0) return;
    const missing = new Set(
      await this.cache.uncachedRows(
        BODY_ROW_PK,
        wanted.map((w) => w.id),
      ),
    );
    for (let i = 0; i < wanted.length && !this.stopped; i += BODY_ROWS_PER_READ) {
      const some = wanted.slice(i, i + BODY_ROWS_PER_READ).filter((w) => missing.has(w.id));
      if (some.length === 0) continue;
      await this.account.messages.activity.lull(this.abort.signal);
      await this.cache.roomFor(some.length);
      await this.account.store.rows.readBatch(some.map((w) => ({ pk: BODY_ROW_PK, sk: w.id })));
    }
    await this.cache.settle();
  }

  /** Rates over the current step and the time left at that rate (messages, or bytes for bodies). */
  private rate(messages: number, bytes: number, left: number, since: number, byBytes = false): void {
    const p = this.progress;
    const seconds = (performance.now() - since) / 1000;
    if (seconds <= 0) return;
    p.messagesPerSecond = messages / seconds;
    p.bytesPerSecond = bytes / seconds;
    const perSecond = byBytes ? p.bytesPerSecond : p.messagesPerSecond;
    if (perSecond > 0) p.etaSeconds = Math.ceil(left / perSecond);
  }
}
