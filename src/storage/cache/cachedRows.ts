/**
 * Rows through the local cache. Rows of the immutable partitions are read from the cache when it
 * has them; the misses of a read or a batch go to the remote in one call and are copied into the
 * cache in the background. Writes and deletes go to the remote first, then drop the cached copy.
 * Range reads, range deletes' listings, polls and every other partition go to the remote only.
 *
 * An insert cannot be written through as is: its causality token is the remote's, and the remote
 * does not return it (K2V answers an insert with no body). So after an insert the row is read back
 * in the background, batched with others, and that read is what gets cached.
 *
 * Rows of the budgeted partitions (CachePolicy.budgetedRowPartitions) are kept as blobs of the
 * cache store instead, in the blobs' byte budget (rowCopies.ts); everything else here is the same.
 *
 * A cached row that another computer has since deleted stays until the caller, who knows what is
 * live, drops it (forget). Until then it is harmless: the row never changed while it lived, and
 * once deleted its id is referenced by nothing, so nobody reads it again.
 *
 * A read of a row whose remote read is already in flight (or whose copy is still being written)
 * joins it instead of reading the remote again, as cached blobs do: a mailbox's meta rows are read
 * ahead as a client first opens it (mail/metaAhead.ts), and the client's header FETCH, a moment
 * later, takes those reads (issue 11). A change to the row ends the join: a read that starts after
 * an insert or a delete never takes a value read before it.
 */
import { compareKeys, selectRange } from "../rowSemantics.ts";
import type { CausalityToken, RangeQuery, RangeResult, RowEntry, RowStore, RowWrite } from "../types.ts";
import type { CacheRules } from "./cachePolicy.ts";
import { decodeCachedRow, encodeCachedRow } from "./cachedRowEntry.ts";
import type { CacheWriter, Fill } from "./cacheWriter.ts";
import { rowWriterKey, type RowCopies } from "./rowCopies.ts";

type RowKey = { pk: string; sk: string };

/**
 * Inserted rows are read back in batches of up to 500 (what the mail layer asks for at once) or
 * after a second: an import appending one message at a time then costs one read per second, not
 * one per message (measured: 50 ms windows added 183 K2V requests to a 1,000-message import).
 */
const READ_BACK_BATCH = 500;
const READ_BACK_DELAY_MS = 1_000;

/** The writer's key of a row, and the one a range delete keeps dirty for its whole partition. */
const keyOf = rowWriterKey;
const partitionKeyOf = (pk: string): string => `p:${pk}`;

export class CachedRowStore implements RowStore {
  /** Remote reads of immutable rows, by key, until their copy is written (or dropped). */
  private readonly fetching = new Map<string, Promise<Uint8Array | null>>();
  private readBack = new Map<string, RowKey>();
  private readBackTimer: NodeJS.Timeout | undefined;
  private readonly readsInFlight = new Set<Promise<void>>();
  /** The caller's lull (holdReadBackUntil): a read-back due waits for it. */
  private quiet: (() => Promise<void>) | undefined;

  constructor(
    private readonly remote: RowStore,
    private readonly cache: RowStore,
    private readonly rules: CacheRules,
    private readonly writer: CacheWriter,
    private readonly copies: RowCopies,
  ) {}

  async read(pk: string, sk: string): Promise<RowEntry | null> {
    if (!this.rules.isImmutableRow(pk)) return this.remote.read(pk, sk);
    return (
      await this.readThrough([{ pk, sk }], ([k]) => this.remote.read(k!.pk, k!.sk).then((e) => [e]))
    )[0]!;
  }

  async readBatch(keys: RowKey[]): Promise<(RowEntry | null)[]> {
    if (!keys.some((k) => this.rules.isImmutableRow(k.pk))) return this.remote.readBatch(keys);
    return this.readThrough(keys, (missing) => this.remote.readBatch(missing));
  }

  /**
   * Cached rows where there are, rows being read already joined, the rest from one remote call,
   * and the misses copied.
   */
  private async readThrough(
    keys: RowKey[],
    fetch: (missing: RowKey[]) => Promise<(RowEntry | null)[]>,
  ): Promise<(RowEntry | null)[]> {
    const out: (RowEntry | null | undefined)[] = await this.fromCache(keys);
    const missing: number[] = [];
    const joined: Promise<void>[] = [];
    out.forEach((entry, i) => {
      if (entry !== undefined) return;
      const k = keys[i]!;
      const reading = this.rules.isImmutableRow(k.pk) ? this.fetching.get(keyOf(k.pk, k.sk)) : undefined;
      // Decoded afresh for each joiner: what one caller does to its entry, another must not see.
      if (reading)
        joined.push(reading.then((bytes) => void (out[i] = bytes && decodeCachedRow(k.sk, bytes)!)));
      else missing.push(i);
    });
    if (missing.length > 0) joined.push(this.fetchMissing(keys, missing, out, fetch));
    await Promise.all(joined);
    return out as (RowEntry | null)[];
  }

  /** Reads the rows at `missing` from the remote into `out`, others joining while they are read. */
  private async fetchMissing(
    keys: RowKey[],
    missing: number[],
    out: (RowEntry | null | undefined)[],
    fetch: (missing: RowKey[]) => Promise<(RowEntry | null)[]>,
  ): Promise<void> {
    const fills = missing.map((i) => this.beginFill(keys[i]!));
    const reading = fetch(missing.map((i) => keys[i]!));
    // Encoded before this caller sees the entries (then-callbacks run in order): the copy written
    // to the cache and what joiners decode are the remote's answer, whatever the caller does.
    const encoded = reading.then((entries) => entries.map((e) => e && encodeCachedRow(e)));
    encoded.catch(() => undefined); // a joiner sees the failure; none may be waiting
    const shared = missing.map((i, j) => {
      const k = keys[i]!;
      if (!fills[j]) return undefined;
      const key = keyOf(k.pk, k.sk);
      const row = encoded.then((rows) => rows[j]!);
      row.catch(() => undefined);
      this.fetching.set(key, row);
      return { key, row };
    });
    const done = (j: number) => {
      const s = shared[j];
      if (s && this.fetching.get(s.key) === s.row) this.fetching.delete(s.key);
    };
    let fetched: (RowEntry | null)[];
    let rows: (Uint8Array | null)[];
    try {
      [fetched, rows] = await Promise.all([reading, encoded]);
    } catch (err) {
      missing.forEach((_, j) => {
        if (fills[j]) this.writer.abandon(fills[j]);
        done(j);
      });
      throw err;
    }
    missing.forEach((i, j) => {
      out[i] = fetched[j]!;
      // The copy may wait for the caller's lull (heldFills.ts); joiners decode `fetching` until then.
      void this.finishFill(fills[j], keys[i]!, fetched[j]!, rows[j], true).finally(() => done(j));
    });
  }

  async insert(pk: string, sk: string, value: Uint8Array, token?: CausalityToken): Promise<void> {
    if (!this.rules.isImmutableRow(pk)) return this.remote.insert(pk, sk, value, token);
    await this.change([{ pk, sk }], () => this.remote.insert(pk, sk, value, token));
    this.scheduleReadBack({ pk, sk });
  }

  async insertBatch(writes: RowWrite[]): Promise<void> {
    const cached = writes.filter((w) => this.rules.isImmutableRow(w.pk));
    if (cached.length === 0) return this.remote.insertBatch(writes);
    await this.change(cached, () => this.remote.insertBatch(writes));
    for (const w of cached) if (w.value !== null) this.scheduleReadBack(w);
  }

  async delete(pk: string, sk: string, token: CausalityToken): Promise<void> {
    if (!this.rules.isImmutableRow(pk)) return this.remote.delete(pk, sk, token);
    await this.change([{ pk, sk }], () => this.remote.delete(pk, sk, token));
  }

  readRange(pk: string, query?: RangeQuery): Promise<RangeResult> {
    return this.remote.readRange(pk, query);
  }

  async deleteRange(pk: string, query?: Omit<RangeQuery, "limit" | "reverse">): Promise<number> {
    if (!this.rules.isImmutableRow(pk)) return this.remote.deleteRange(pk, query);
    // The rows it removes are not known in advance: while it runs the whole partition counts as
    // changing, and afterwards the same range is deleted from the cache.
    const rowsOfPartition = keyOf(pk, "");
    const unjoin = () => {
      for (const key of this.fetching.keys()) if (key.startsWith(rowsOfPartition)) this.fetching.delete(key);
    };
    unjoin();
    return this.writer.changeWhere(
      partitionKeyOf(pk),
      (key) => key.startsWith(rowsOfPartition),
      () => this.remote.deleteRange(pk, query).finally(unjoin),
      async () => {
        if (!this.rules.isBudgetedRow(pk)) return void (await this.cache.deleteRange(pk, query));
        const sorted = this.copies.keys(pk).sort(compareKeys);
        await this.copies.drop(selectRange(sorted, query).keys.map((sk) => ({ pk, sk })));
      },
    );
  }

  poll(
    pk: string,
    sk: string,
    token: CausalityToken | undefined,
    timeoutMs: number,
  ): Promise<RowEntry | null> {
    return this.remote.poll(pk, sk, token, timeoutMs);
  }

  /**
   * Drops the cached copies of rows the caller knows are gone elsewhere (another computer deleted
   * them); the remote is not touched. A fill of one of them still in flight may land afterwards:
   * the copy then stays, still the row's exact content, and is dropped by a later call.
   */
  forget(rows: readonly RowKey[]): Promise<void> {
    const keys = rows.filter((r) => this.rules.isImmutableRow(r.pk));
    return this.writer.runAfter(
      keys.map((r) => keyOf(r.pk, r.sk)),
      () => this.dropCopies(keys),
    );
  }

  /**
   * Which of `sks` (rows of `pk`) a read would fetch from the remote: not cached (or changing), and
   * not being read already. From the cache store's index when it has one, else by reading them.
   */
  async uncached(pk: string, sks: readonly string[]): Promise<string[]> {
    if (!this.writer.usable || !this.rules.isImmutableRow(pk)) return [...sks];
    const keys = sks.map((sk) => ({ pk, sk }));
    let held: boolean[];
    try {
      held = this.rules.isBudgetedRow(pk)
        ? keys.map((k) => this.copies.has(k))
        : this.cache.hasRows
          ? this.cache.hasRows(keys)
          : (await this.fromCache(keys)).map((entry) => entry !== undefined);
    } catch (err) {
      this.writer.fail("read cached rows", err);
      return [...sks];
    }
    return sks.filter(
      (sk, i) => (!held[i] || this.isChanging(keys[i]!)) && !this.fetching.has(keyOf(pk, sk)),
    );
  }

  /** Sort keys of the cached rows of `pk`, a page at a time (the values are not kept). */
  async cachedKeys(pk: string): Promise<string[]> {
    if (this.rules.isBudgetedRow(pk)) return this.copies.keys(pk).sort(compareKeys);
    const out: string[] = [];
    let start: string | undefined;
    for (;;) {
      const page = await this.cache.readRange(pk, { limit: 1000, ...(start ? { start } : {}) });
      for (const item of page.items) out.push(item.sk);
      if (!page.nextStart) return out;
      start = page.nextStart;
    }
  }

  /**
   * From now on a read-back due by time waits for `quiet` (a lull in the caller's work): during a
   * run of APPENDs it was one K2V ReadBatch and a local row write per message a second, beside
   * them. A full batch still goes at once.
   */
  holdReadBackUntil(quiet: () => Promise<void>): void {
    this.quiet = quiet;
  }

  /** Sends the read-backs still waiting for their batch, and waits for every one in flight. */
  async settle(): Promise<void> {
    if (this.readBack.size > 0) this.flushReadBack();
    await Promise.all(this.readsInFlight);
  }

  /** Stops reading back inserted rows (the reads already sent finish on their own). */
  stop(): void {
    clearTimeout(this.readBackTimer);
    this.readBackTimer = undefined;
    this.readBack.clear();
  }

  /** Cached entries by position; undefined where the remote must be asked. */
  private async fromCache(keys: RowKey[]): Promise<(RowEntry | undefined)[]> {
    const out = new Array<RowEntry | undefined>(keys.length).fill(undefined);
    if (!this.writer.usable) return out;
    const asked: number[] = [];
    keys.forEach((k, i) => {
      if (this.rules.isImmutableRow(k.pk) && !this.isChanging(k)) asked.push(i);
    });
    if (asked.length === 0) return out;
    const copied = asked.filter((i) => this.rules.isBudgetedRow(keys[i]!.pk));
    const rowed = asked.filter((i) => !this.rules.isBudgetedRow(keys[i]!.pk));
    let found: (RowEntry | null)[];
    let copies: (Uint8Array | undefined)[];
    try {
      [found, copies] = await Promise.all([
        rowed.length > 0 ? this.cache.readBatch(rowed.map((i) => keys[i]!)) : [],
        this.copies.read(copied.map((i) => keys[i]!)),
      ]);
    } catch (err) {
      this.writer.fail("read cached rows", err);
      return out;
    }
    copied.forEach((i, j) => {
      const bytes = copies[j];
      if (bytes) out[i] = decodeCachedRow(keys[i]!.sk, bytes);
    });
    rowed.forEach((i, j) => {
      const local = found[j];
      // Several siblings can only be two fills of the same immutable row: any one of them is it.
      for (const v of local?.values ?? []) {
        const entry = decodeCachedRow(keys[i]!.sk, v);
        if (entry) {
          out[i] = entry;
          break;
        }
      }
    });
    return out;
  }

  private isChanging(k: RowKey): boolean {
    return this.writer.isDirty(keyOf(k.pk, k.sk)) || this.writer.isDirty(partitionKeyOf(k.pk));
  }

  private beginFill(k: RowKey): Fill | undefined {
    return this.rules.isImmutableRow(k.pk) ? this.writer.begin(keyOf(k.pk, k.sk)) : undefined;
  }

  /**
   * Copies a live row into the cache; an absent or deleted row is not cached (it may come back).
   * `encoded`: the entry as encodeCachedRow gives it, when the caller has it already. `mayWait`:
   * the copy of a client's read, which may wait for its lull (CacheWriter.holdFillsUntil); a
   * read-back waited for one already. Resolves once the copy is written or dropped.
   */
  private finishFill(
    fill: Fill | undefined,
    k: RowKey,
    entry: RowEntry | null,
    encoded?: Uint8Array | null,
    mayWait = false,
  ): Promise<void> {
    if (!fill) return Promise.resolve();
    if (!entry || entry.values.length === 0) {
      this.writer.abandon(fill);
      return Promise.resolve();
    }
    // Encoded now: the caller owns the entry it was handed and may change it.
    const bytes = encoded ?? encodeCachedRow(entry);
    const heldBytes = mayWait ? bytes.length : undefined;
    if (this.rules.isBudgetedRow(k.pk)) {
      if (!this.copies.fits(bytes.length)) {
        this.writer.abandon(fill);
        return Promise.resolve();
      }
      return this.writer.finish(fill, () => this.copies.write(k, bytes, fill), heldBytes);
    }
    return this.writer.finish(
      fill,
      async () => {
        const old = await this.cache.read(k.pk, k.sk);
        await this.cache.insert(k.pk, k.sk, bytes, old?.token);
      },
      heldBytes,
    );
  }

  /** A change on the remote, then the cached copies of those rows are dropped. */
  private change<T>(rows: RowKey[], remote: () => Promise<T>): Promise<T> {
    const keys = rows.map((r) => keyOf(r.pk, r.sk));
    // Before and after the remote call: a read begun in between may hold the value from before.
    const unjoin = () => keys.forEach((key) => this.fetching.delete(key));
    unjoin();
    return this.writer.change(
      keys,
      () => remote().finally(unjoin),
      () => this.dropCopies(rows),
    );
  }

  private async dropCopies(all: readonly RowKey[]): Promise<void> {
    await this.copies.drop(all.filter((r) => this.rules.isBudgetedRow(r.pk)));
    const rows = all.filter((r) => !this.rules.isBudgetedRow(r.pk));
    for (let i = 0; i < rows.length; i += 500) {
      const some = rows.slice(i, i + 500);
      const live = (await this.cache.readBatch(some)).map((e, j) => ({ e, r: some[j]! }));
      const deletes: RowWrite[] = live
        .filter(({ e }) => e && e.values.length > 0)
        .map(({ e, r }) => ({ pk: r.pk, sk: r.sk, value: null, token: e!.token }));
      if (deletes.length > 0) await this.cache.insertBatch(deletes);
    }
  }

  private scheduleReadBack(k: RowKey): void {
    if (!this.writer.usable) return;
    this.readBack.set(keyOf(k.pk, k.sk), { pk: k.pk, sk: k.sk });
    if (this.readBack.size >= READ_BACK_BATCH) this.flushReadBack();
    else if (!this.readBackTimer) {
      this.readBackTimer = setTimeout(() => {
        if (!this.quiet) return this.flushReadBack();
        // The timer stays set (not cleared) while it waits: no second waiter is started.
        void this.quiet().then(() => {
          if (this.readBackTimer) this.flushReadBack();
        });
      }, READ_BACK_DELAY_MS);
      this.readBackTimer.unref();
    }
  }

  /** Reads recently inserted rows back in one batch and caches them; a failure only skips them. */
  private flushReadBack(): void {
    clearTimeout(this.readBackTimer);
    this.readBackTimer = undefined;
    const keys = [...this.readBack.values()];
    this.readBack = new Map();
    const fills = keys.map((k) => this.beginFill(k));
    const wanted = keys.filter((_, i) => fills[i]);
    const live = fills.filter((f): f is Fill => f !== undefined);
    if (wanted.length === 0) return;
    const done: Promise<void> = this.remote
      .readBatch(wanted)
      .then(
        (entries) => entries.forEach((e, i) => void this.finishFill(live[i], wanted[i]!, e)),
        () => live.forEach((f) => this.writer.abandon(f)),
      )
      .finally(() => this.readsInFlight.delete(done));
    this.readsInFlight.add(done);
  }
}
