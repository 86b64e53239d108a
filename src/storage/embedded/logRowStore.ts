/**
 * RowStore over an append-only log file (rowLogFormat.ts) with an in-memory index (rowIndex.ts).
 *
 * Durability: a write's promise resolves only after its record is fdatasync'd. Writes that arrive
 * while a sync runs wait and share the next one (group commit), so many concurrent writers cost
 * few syncs. Readers see a write only once it is durable: rows being written live in `staged`
 * (used to compute the next counters) until their batch is synced.
 *
 * Compaction (rowCompaction.ts) rewrites the log without the records no row refers to any more.
 */
import { EventEmitter } from "node:events";
import { open, realpath, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Unavailable } from "../../errors.ts";
import {
  applyWrite,
  decodeToken,
  encodeToken,
  selectRange,
  toEntry,
  type StoredRow,
} from "../rowSemantics.ts";
import type { CausalityToken, RangeQuery, RangeResult, RowEntry, RowStore, RowWrite } from "../types.ts";
import { readFully, replaceFile, syncFolder, writeFully } from "./durableFs.ts";
import { readValues } from "./valueReader.ts";
import { fsErrorCode, unavailable } from "./fsFailure.ts";
import { compactLog, compactingName } from "./rowCompaction.ts";
import { saveCutTail, type CutTail } from "./cutTail.ts";
import { newRef, RowIndex, rowKey, type IndexedRow, type ValueRef } from "./rowIndex.ts";
import { encodeRecord, logMagic, shapeOf } from "./rowLogFormat.ts";
import { scanLog } from "./rowLogScan.ts";
import { LogSegment } from "./logSegment.ts";

export const logName = "rows.log";

export interface RowLogOptions {
  /** Compact once the log holds more dead bytes than this and more dead than live bytes. */
  compactMinDeadBytes?: number;
}

interface StagedRow {
  pk: string;
  sk: string;
  row: IndexedRow;
}

interface Batch {
  records: { record: Buffer; ref: ValueRef }[];
  rows: Map<string, StagedRow>;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/** What a poll learns when a row changes; `read` reads it through the handle that wrote it. */
interface RowChange {
  counter: number;
  read: () => Promise<RowEntry | null>;
}

/** One emitter per data folder, so that a poll hears every handle this process opens on it. */
const folderChanges = new Map<string, EventEmitter>();

function changesOf(folder: string): EventEmitter {
  let emitter = folderChanges.get(folder);
  if (!emitter) {
    folderChanges.set(folder, (emitter = new EventEmitter()));
    emitter.setMaxListeners(0);
  }
  return emitter;
}

function emptyBatch(): Batch {
  return { records: [], rows: new Map(), waiters: [] };
}

export class LogRowStore implements RowStore {
  private segment: LogSegment;
  /** End of the last durable record. */
  private size: number;
  private readonly staged = new Map<string, StagedRow>();
  private pending = emptyBatch();
  private flushing: Promise<void> | undefined;
  /** Set by compaction to hold batches back while it swaps files. */
  private paused = false;
  private compacting: Promise<void> | undefined;
  /** Set when a failed sync leaves the log's state unknown: writes stop until the store reopens. */
  private broken: Unavailable | undefined;
  private closed = false;
  private readonly minDeadBytes: number;
  /** After a failed background compaction, the log size at which to try again. */
  private retryCompactionAt = 0;
  private readonly changes: EventEmitter;
  /** How to end each poll still waiting, at close. */
  private readonly pendingPolls = new Set<() => void>();
  /**
   * At least the counter of every row compaction forgot; a row with no record starts above it. The
   * log keeps a record at least this high (compaction keeps the highest lone tombstone), so open
   * finds it again as the highest counter replayed.
   */
  private floor: number;

  private constructor(
    private readonly dir: string,
    fh: FileHandle,
    size: number,
    private readonly index: RowIndex,
    options: RowLogOptions,
    /** What open cut off the end of the log, if anything (see cutTail.ts). */
    private readonly cutAtOpen: CutTail | undefined,
    floor: number,
  ) {
    this.floor = floor;
    this.segment = new LogSegment(fh);
    this.size = size;
    this.minDeadBytes = options.compactMinDeadBytes ?? 16 << 20;
    this.changes = changesOf(dir);
  }

  private get logPath(): string {
    return join(this.dir, logName);
  }

  /** Opens (or creates) the log in `dir`, replays it and cuts off a torn tail. */
  static async open(dir: string, options: RowLogOptions = {}): Promise<LogRowStore> {
    const folder = await realpath(dir).catch((err) => {
      throw unavailable("open the data folder", dir, err);
    });
    const logPath = join(folder, logName);
    // A compaction cut short by a crash left this; if it cannot go now, the next compaction
    // truncates it when it opens the same name.
    await rm(join(folder, compactingName), { force: true }).catch(() => {});
    const exists = await stat(logPath).then(
      () => true,
      (err) => {
        if (fsErrorCode(err) === "ENOENT") return false;
        throw unavailable("look at the row log", logPath, err);
      },
    );
    if (!exists) {
      await replaceFile(
        folder,
        logName,
        (fh) => writeFully(fh, logMagic, 0),
        () => syncFolder(folder),
      ).catch((err) => {
        throw unavailable("create the row log", logPath, err);
      });
    }
    const fh = await open(logPath, "r+").catch((err) => {
      throw unavailable("open the row log", logPath, err);
    });
    try {
      const fileSize = (await fh.stat()).size;
      const magic = await readFully(fh, 0, logMagic.length);
      if (!logMagic.equals(magic)) {
        throw new Unavailable(
          `embedded store: ${logPath} is not an aerogramme-local row log (unknown header)`,
        );
      }
      const index = new RowIndex();
      let floor = 0;
      const end = await scanLog(fh, logMagic.length, fileSize, (r, pos) => {
        floor = Math.max(floor, r.counter);
        index.replay(r.pk, r.sk, r.counter, r.seen, r.dot, newRef(pos, r));
      });
      let cut: CutTail | undefined;
      if (end < fileSize) {
        // A torn tail: the batch being written when the process died. No caller was told it succeeded.
        cut = await saveCutTail(fh, folder, logName, end, fileSize);
        await fh.truncate(end);
        await fh.datasync();
      }
      return new LogRowStore(folder, fh, end, index, options, cut, floor);
    } catch (err) {
      await fh.close().catch(() => {}); // the read error below is the one that matters
      throw unavailable("read the row log", logPath, err);
    }
  }

  async read(pk: string, sk: string): Promise<RowEntry | null> {
    this.assertOpen();
    const row = this.index.get(pk, sk);
    return row ? this.entryOf(sk, row) : null;
  }

  async insert(pk: string, sk: string, value: Uint8Array, token?: CausalityToken): Promise<void> {
    return this.write([{ pk, sk, value, token }]);
  }

  async insertBatch(writes: RowWrite[]): Promise<void> {
    return this.write(writes);
  }

  async readBatch(keys: { pk: string; sk: string }[]): Promise<(RowEntry | null)[]> {
    this.assertOpen();
    const rows = keys.map(({ pk, sk }) => ({ sk, row: this.index.get(pk, sk) }));
    const found = rows.filter((r): r is { sk: string; row: IndexedRow } => r.row !== undefined);
    const entries = await this.entriesOf(found);
    let next = 0;
    return rows.map((r) => (r.row ? entries[next++]! : null));
  }

  hasRows(keys: { pk: string; sk: string }[]): boolean[] {
    this.assertOpen();
    return keys.map(({ pk, sk }) => this.index.isLive(pk, sk));
  }

  async delete(pk: string, sk: string, token: CausalityToken): Promise<void> {
    return this.write([{ pk, sk, value: null, token }]);
  }

  async readRange(pk: string, query?: RangeQuery): Promise<RangeResult> {
    this.assertOpen();
    const { keys, nextStart } = selectRange(this.index.sortedKeys(pk), query, (sk) =>
      this.index.isLive(pk, sk),
    );
    const items = await this.entriesOf(keys.map((sk) => ({ sk, row: this.index.get(pk, sk)! })));
    return nextStart === undefined ? { items } : { items, nextStart };
  }

  async deleteRange(pk: string, query?: Omit<RangeQuery, "limit" | "reverse">): Promise<number> {
    this.assertOpen();
    const { prefix, start, end } = query ?? {};
    const { keys } = selectRange(this.index.sortedKeys(pk), { prefix, start, end }, (sk) =>
      this.index.isLive(pk, sk),
    );
    const writes = keys.map((sk) => ({
      pk,
      sk,
      value: null,
      token: encodeToken(this.index.get(pk, sk)!.counter),
    }));
    if (writes.length > 0) await this.write(writes);
    return writes.length;
  }

  async poll(
    pk: string,
    sk: string,
    token: CausalityToken | undefined,
    timeoutMs: number,
  ): Promise<RowEntry | null> {
    this.assertOpen();
    const seen = decodeToken(token);
    const row = this.index.get(pk, sk);
    if (row && row.counter > seen) return this.entryOf(sk, row);
    return new Promise((resolve, reject) => {
      const event = rowKey(pk, sk);
      const onChange = (change: RowChange) => {
        if (change.counter <= seen) return;
        stop();
        change.read().then(resolve, reject);
      };
      const stop = () => {
        clearTimeout(timer);
        this.changes.off(event, onChange);
        this.pendingPolls.delete(giveUp);
      };
      const giveUp = () => {
        stop();
        resolve(null);
      };
      const timer = setTimeout(giveUp, timeoutMs);
      this.changes.on(event, onChange);
      this.pendingPolls.add(giveUp);
    });
  }

  /** Rewrites the log without dead records now, whatever the thresholds say. */
  async compact(): Promise<void> {
    this.assertOpen();
    return this.startCompaction();
  }

  /** Bytes of the log file, bytes still referred to, and what open cut off (for tests and `doctor`). */
  stats(): { logBytes: number; liveBytes: number; cutAtOpen?: CutTail } {
    const stats = { logBytes: this.size, liveBytes: this.index.liveBytes + logMagic.length };
    return this.cutAtOpen ? { ...stats, cutAtOpen: this.cutAtOpen } : stats;
  }

  /**
   * Waits for queued writes and a running compaction, ends pending polls (with null, as at their
   * timeout: their timers must not keep the process alive), then closes the file.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Their own callers got their errors; close only waits for them to end.
    while (this.flushing || this.compacting) await (this.flushing ?? this.compacting)?.catch(() => {});
    for (const giveUp of [...this.pendingPolls]) giveUp();
    await this.segment.retire();
  }

  private assertOpen(): void {
    if (this.closed) throw new Unavailable(`embedded store: the store at ${this.dir} is closed`);
  }

  private entryOf(sk: string, row: IndexedRow): Promise<RowEntry> {
    return this.entriesOf([{ sk, row }]).then((entries) => entries[0]!);
  }

  /** The entries for rows, their values read from the log by position. */
  private entriesOf(rows: { sk: string; row: IndexedRow }[]): Promise<RowEntry[]> {
    const logPath = this.logPath;
    // Offsets are taken now, synchronously, with the segment they belong to: compaction may move them.
    return this.segment.use(async (fh) => {
      const refs = rows.flatMap(({ row }) => row.values.flatMap((v) => (v.value ? [v.value] : [])));
      const values = await readValues(fh, refs, logPath).catch((err) => {
        throw unavailable("read the row log", logPath, err);
      });
      return rows.map(({ sk, row }) =>
        toEntry(sk, {
          counter: row.counter,
          values: row.values.map(({ dot, value: ref }) => ({
            dot,
            value: !ref || ref.tombstone ? null : values.get(ref)!,
          })),
        } satisfies StoredRow),
      );
    });
  }

  /** Stages writes and resolves once they are durable. Bad tokens or sizes reject before anything is staged. */
  private write(writes: RowWrite[]): Promise<void> {
    this.assertOpen();
    if (this.broken) return Promise.reject(this.broken);
    if (writes.length === 0) return Promise.resolve();
    const local = new Map<string, StagedRow>();
    const records: Batch["records"] = [];
    for (const w of writes) {
      const seen = decodeToken(w.token);
      const key = rowKey(w.pk, w.sk);
      const before = local.get(key)?.row ?? this.staged.get(key)?.row ?? this.index.get(w.pk, w.sk);
      const tombstone = w.value === null;
      const ref = newRef(-1, { recordLength: 0, valueOffset: 0, valueLength: 0, tombstone });
      const row = applyWrite(before, ref, w.token, this.floor);
      const record = encodeRecord({
        pk: w.pk,
        sk: w.sk,
        counter: row.counter,
        seen,
        dot: row.counter,
        value: w.value,
      });
      Object.assign(ref, shapeOf(record, tombstone));
      local.set(key, { pk: w.pk, sk: w.sk, row });
      records.push({ record, ref });
    }
    const batch = this.pending;
    batch.records.push(...records);
    for (const [key, staged] of local) {
      batch.rows.set(key, staged);
      this.staged.set(key, staged);
    }
    const durable = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    this.kick();
    return durable;
  }

  private kick(): void {
    if (this.flushing || this.paused || this.pending.records.length === 0) return;
    // setImmediate: let every write issued in this turn of the event loop join the batch.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushLoop())
      .finally(() => {
        this.flushing = undefined;
        this.kick();
      });
  }

  private async flushLoop(): Promise<void> {
    while (!this.paused && !this.broken && this.pending.records.length > 0) {
      const batch = this.pending;
      this.pending = emptyBatch();
      await this.writeBatch(batch);
    }
    if (this.broken && this.pending.records.length > 0) this.abandon(this.pending, this.broken);
  }

  private async writeBatch(batch: Batch): Promise<void> {
    const start = this.size;
    let end = start;
    for (const { record, ref } of batch.records) {
      ref.pos = end;
      end += record.length;
    }
    const bytes =
      batch.records.length === 1
        ? batch.records[0]!.record
        : Buffer.concat(batch.records.map((r) => r.record));
    const fh = this.segment.fh;
    try {
      await writeFully(fh, bytes, start);
    } catch (err) {
      const failure = unavailable("append to the row log", this.logPath, err);
      try {
        await fh.truncate(start);
      } catch {
        this.broken = unavailable("cut a failed write from the row log", this.logPath, err);
      }
      this.abandon(batch, failure);
      return;
    }
    try {
      await fh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the pages: nothing after this point can be trusted.
      this.broken = unavailable("sync the row log (close and reopen the store)", this.logPath, err);
      this.abandon(batch, this.broken);
      return;
    }
    this.size = end;
    for (const [key, staged] of batch.rows) {
      this.index.set(staged.pk, staged.sk, staged.row);
      if (this.staged.get(key) === staged) this.staged.delete(key);
    }
    for (const w of batch.waiters) w.resolve();
    for (const [key, { pk, sk, row }] of batch.rows) {
      const change: RowChange = { counter: row.counter, read: () => this.read(pk, sk) };
      this.changes.emit(key, change);
    }
    this.maybeCompact();
  }

  /** Fails a batch and everything staged after it (later writes may build on its rows). */
  private abandon(batch: Batch, err: Unavailable): void {
    const later = this.pending;
    this.pending = emptyBatch();
    this.staged.clear();
    for (const w of batch.waiters) w.reject(err);
    if (later !== batch) for (const w of later.waiters) w.reject(err);
  }

  private maybeCompact(): void {
    const dead = this.size - logMagic.length - this.index.liveBytes;
    if (dead <= this.minDeadBytes || dead <= this.index.liveBytes || this.closed) return;
    if (this.size < this.retryCompactionAt) return;
    this.startCompaction().catch(() => {
      // The old log stays in place and serves on. Try again once the log has grown some more, not
      // after every write (a full disk would otherwise make every write copy the whole log).
      this.retryCompactionAt = this.size + this.minDeadBytes;
    });
  }

  private startCompaction(): Promise<void> {
    this.compacting ??= this.runCompaction().finally(() => (this.compacting = undefined));
    return this.compacting;
  }

  /**
   * The lone tombstones compaction may leave out, but the one with the highest counter (it keeps
   * the floor in the log), and how to forget them once writes are held: a row written since, or
   * with a write staged, keeps its tombstone (a staged row may hold it as a sibling).
   */
  private forgettable(): { dropping: Set<ValueRef>; forget: () => ValueRef[] } {
    const lone = [...this.index.loneTombstones()];
    let highest = 0;
    for (let i = 1; i < lone.length; i++) if (lone[i]!.ref.counter > lone[highest]!.ref.counter) highest = i;
    if (lone.length > 0) lone.splice(highest, 1);
    const forget = () => {
      const kept: ValueRef[] = [];
      for (const { pk, sk, ref } of lone) {
        if (!this.staged.has(rowKey(pk, sk)) && this.index.forget(pk, sk, ref)) {
          this.floor = Math.max(this.floor, ref.counter);
        } else if (this.index.get(pk, sk)?.values.some((v) => v.value === ref)) kept.push(ref);
      }
      return kept;
    };
    return { dropping: new Set(lone.map((l) => l.ref)), forget };
  }

  private async runCompaction(): Promise<void> {
    if (this.broken) throw this.broken;
    const oldSegment = this.segment;
    const { dropping, forget } = this.forgettable();
    try {
      await compactLog({
        dropping,
        forget,
        dir: this.dir,
        segment: oldSegment,
        index: this.index,
        snapshotEnd: this.size,
        logName,
        pauseWrites: async () => {
          this.paused = true;
          while (this.flushing) await this.flushing;
          return this.size;
        },
        install: (fh, size) => {
          this.segment = new LogSegment(fh);
          this.size = size;
        },
      });
    } catch (err) {
      this.paused = false;
      this.kick();
      throw unavailable("compact the row log", this.logPath, err);
    }
    void oldSegment.retire();
    try {
      // Until the rename is durable, a crash would bring the old log back: hold writes until then.
      await syncFolder(this.dir);
    } catch (err) {
      this.broken = unavailable(
        "sync the folder after compaction (close and reopen the store)",
        this.dir,
        err,
      );
      throw this.broken;
    } finally {
      this.paused = false;
      this.kick();
    }
  }
}
