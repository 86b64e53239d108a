/**
 * The bookkeeping that keeps the local cache exact while the remote changes under it, shared by the
 * cached row store and the cached blob store:
 *
 * - Cache writes happen in the background, one at a time per key, so a read never waits for (or
 *   fails because of) the local disk.
 * - A "fill" copies what a remote read returned into the cache. A change through this store
 *   (insert, delete, put, copy) marks every fill of that key still in flight as stale, both before
 *   and after its remote call, so a value read before the change is never written after it.
 * - While a change to a key is on its way (remote call, then the matching cache delete), the key
 *   is "dirty" and reads of it go to the remote.
 * - The first cache error is logged once and the cache is bypassed from then on: a cache that
 *   cannot write may also have missed a delete, so it is no longer trusted.
 */
import { KeyedQueue } from "../keyedQueue.ts";
import type { Log } from "../../log.ts";
import { HeldFills } from "./heldFills.ts";

export interface Fill {
  readonly key: string;
  stale: boolean;
  readonly bytes: number;
}

/** Background writes beyond these are dropped (not cached), so a slow disk cannot hold memory. */
export const MAX_PENDING_FILLS = 2_000;
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export class CacheWriter {
  private readonly queue = new KeyedQueue();
  /** Copies of reads waiting for the caller's lull (holdFillsUntil). */
  private readonly held = new HeldFills();
  /** Background cache work not finished; drain() waits until none is left (work may start more). */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly fills = new Map<string, Set<Fill>>();
  private readonly dirty = new Map<string, number>();
  private pendingFills = 0;
  private pendingBytes = 0;
  private failed = false;
  private closed = false;
  /** Callers of roomFor waiting for fills to be written. */
  private readonly roomWaiters: { fills: number; go: () => void }[] = [];

  constructor(
    private readonly name: string,
    private readonly log?: Log,
  ) {}

  /** False once the cache failed or was closed: callers then go to the remote only. */
  get usable(): boolean {
    return !this.failed && !this.closed;
  }

  fail(doing: string, err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.held.release(); // their writes now find the cache unusable and end
    this.wakeRoomWaiters();
    this.log?.(
      "warn",
      `local cache ${this.name}: could not ${doing} (${err instanceof Error ? err.message : String(err)}); ` +
        `running without the cache until restart (deleting the cache folder is always safe)`,
    );
  }

  isDirty(key: string): boolean {
    return this.dirty.has(key);
  }

  /**
   * Registers a fill before its remote read starts. undefined when the cache is off or too much is
   * already waiting to be written: that value is then simply not cached.
   */
  begin(key: string, bytes = 0): Fill | undefined {
    if (!this.usable) return undefined;
    if (this.pendingFills >= MAX_PENDING_FILLS || this.pendingBytes + bytes > MAX_PENDING_BYTES)
      return undefined;
    const fill: Fill = { key, stale: false, bytes };
    let set = this.fills.get(key);
    if (!set) this.fills.set(key, (set = new Set()));
    set.add(fill);
    this.pendingFills++;
    this.pendingBytes += bytes;
    return fill;
  }

  /**
   * From now on the copies of reads (finish with `heldBytes`) wait for `quiet`, a lull in the
   * caller's work, before they are written, within the bounds of heldFills.ts.
   */
  holdFillsUntil(quiet: () => Promise<void>): void {
    this.held.holdUntil(quiet);
  }

  /**
   * Writes a fill in the background unless a change made it stale; never throws. Resolves once
   * the copy is written (or dropped): a caller may hold the bytes until then. With `heldBytes`
   * (the copy's size) the write may wait for the caller's lull (holdFillsUntil).
   */
  finish(fill: Fill, write: (fill: Fill) => Promise<void>, heldBytes?: number): Promise<void> {
    const run = () =>
      this.enqueue(fill.key, async () => {
        if (fill.stale || !this.usable) return;
        await write(fill);
      });
    const held = heldBytes === undefined ? undefined : this.held.hold(heldBytes, run);
    return (held ?? run()).catch((err) => this.fail("write a copy", err)).finally(() => this.forget(fill));
  }

  /** A fill whose remote read found nothing worth keeping. */
  abandon(fill: Fill): void {
    this.forget(fill);
  }

  /**
   * Runs a change: `remote` first, then `local` (the cache's side, queued behind the key's other
   * cache writes). Resolves with the remote's result once the remote call is done; the cache side
   * completes in the background while the keys stay dirty.
   */
  change<T>(keys: string[], remote: () => Promise<T>, local: () => Promise<void>): Promise<T> {
    return this.changing(keys, keys, remote, () => this.runAll(keys, local));
  }

  /**
   * A change whose keys are not known in advance (a range delete): every in-flight fill that
   * passes `affects` is stale, `dirtyKey` stays dirty until `local` is done, and `local` runs once
   * every cache write queued before it has landed.
   */
  changeWhere<T>(
    dirtyKey: string,
    affects: (key: string) => boolean,
    remote: () => Promise<T>,
    local: () => Promise<void>,
  ): Promise<T> {
    return this.changing([dirtyKey], affects, remote, async () => {
      await this.queue.drain();
      await local();
    });
  }

  private async changing<T>(
    dirtyKeys: string[],
    affects: string[] | ((key: string) => boolean),
    remote: () => Promise<T>,
    local: () => Promise<void>,
  ): Promise<T> {
    this.markStaleWhere(affects);
    for (const key of dirtyKeys) this.dirty.set(key, (this.dirty.get(key) ?? 0) + 1);
    try {
      return await remote();
    } finally {
      // Even a failed remote call may have been applied: the cached copy goes either way.
      this.markStaleWhere(affects);
      const done = () => {
        for (const key of dirtyKeys) {
          const n = this.dirty.get(key)! - 1;
          if (n > 0) this.dirty.set(key, n);
          else this.dirty.delete(key);
        }
      };
      if (!this.usable) done();
      else
        void this.track(local())
          .catch((err) => this.fail("update a cached copy", err))
          .finally(done);
    }
  }

  private markStaleWhere(affects: string[] | ((key: string) => boolean)): void {
    if (Array.isArray(affects)) {
      for (const key of affects) for (const f of this.fills.get(key) ?? []) f.stale = true;
      return;
    }
    for (const [key, set] of this.fills) if (affects(key)) for (const f of set) f.stale = true;
  }

  /**
   * The copies of these keys still held or in flight are not written: the caller knows the objects
   * are gone elsewhere, and a copy landing after it dropped the others would stay.
   */
  dropFills(keys: readonly string[]): void {
    for (const key of keys) for (const f of this.fills.get(key) ?? []) f.stale = true;
  }

  /** Runs a cache-only task behind whatever is queued for `key` (evictions). */
  run(key: string, task: () => Promise<void>): void {
    void this.enqueue(key, task).catch((err) => this.fail("drop a cached copy", err));
  }

  /**
   * Runs a cache-only task once the writes queued for every one of `keys` have landed (dropping
   * copies the caller knows are gone elsewhere); resolves when it is done, never rejects.
   */
  runAfter(keys: string[], task: () => Promise<void>): Promise<void> {
    if (keys.length === 0 || !this.usable) return Promise.resolve();
    this.dropFills(keys);
    return this.track(this.runAll(keys, task)).catch((err) => this.fail("drop a cached copy", err));
  }

  /**
   * Resolves once every cache write queued so far is done, or after `timeoutMs`. Held copies are
   * written now, not at the caller's lull.
   */
  async drain(timeoutMs = Infinity): Promise<void> {
    this.held.release();
    let timer: NodeJS.Timeout | undefined;
    const timeout =
      timeoutMs === Infinity
        ? new Promise<never>(() => {})
        : new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
            timer.unref();
          });
    try {
      await Promise.race([this.idle(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.closed = true;
    this.held.release();
    this.wakeRoomWaiters();
  }

  /**
   * Resolves once `fills` more fills can begin without any being dropped (at once when they can,
   * or when the cache is off): a caller about to read many rows through the cache waits here, so
   * the disk sets its pace and every copy is kept.
   */
  roomFor(fills: number): Promise<void> {
    if (this.hasRoom(fills)) return Promise.resolve();
    // Held copies count as waiting: a caller that needs their room gets them written now.
    this.held.release();
    return new Promise((go) => this.roomWaiters.push({ fills, go }));
  }

  private hasRoom(fills: number): boolean {
    return !this.usable || this.pendingFills + Math.min(fills, MAX_PENDING_FILLS) <= MAX_PENDING_FILLS;
  }

  private wakeRoomWaiters(): void {
    for (let i = 0; i < this.roomWaiters.length;) {
      const w = this.roomWaiters[i]!;
      if (this.hasRoom(w.fills)) {
        this.roomWaiters.splice(i, 1);
        w.go();
      } else i++;
    }
  }

  /** One task that must run after the queued writes of several keys (a batch of row changes). */
  private runAll(keys: string[], task: () => Promise<void>): Promise<void> {
    if (keys.length === 1) return this.enqueue(keys[0]!, task);
    return Promise.all(keys.map((k) => this.enqueue(k, async () => {}))).then(task);
  }

  private enqueue(key: string, task: () => Promise<void>): Promise<void> {
    return this.track(this.queue.run(key, task));
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const settled: Promise<void> = work.then(
      () => void this.pending.delete(settled),
      () => void this.pending.delete(settled),
    );
    this.pending.add(settled);
    return work;
  }

  private async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private forget(fill: Fill): void {
    const set = this.fills.get(fill.key);
    if (!set?.delete(fill)) return;
    if (set.size === 0) this.fills.delete(fill.key);
    this.pendingFills--;
    this.pendingBytes -= fill.bytes;
    if (this.roomWaiters.length > 0) this.wakeRoomWaiters();
  }
}
