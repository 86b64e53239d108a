/**
 * Blobs through the local cache. Under the immutable prefixes, a get is served from a local copy
 * when there is one (a range is cut from it locally), a whole-object get from the remote leaves a
 * copy behind, and a put writes through (mail imported or appended here is local at once). Listing
 * and everything outside those prefixes go to the remote only.
 *
 * A copy whose object another computer has since deleted (an expunge over there) stays until it is
 * evicted or the caller, who knows what is live, drops it (forget). Until then it is harmless: the
 * object was immutable, so the copy is still its exact content, and nothing references the deleted
 * id any more, so nobody asks for it.
 *
 * A get of a key whose whole remote read is already in flight (or whose copy is still being
 * written) joins it instead of reading the remote again, a range cut from it: the background fill
 * reads the newest bodies of a mailbox as it is first selected, and the client's FETCH of the same
 * bodies, a moment later, takes those reads (issue 11). The bytes are the same immutable object's either way.
 *
 * The copy of a body written through is made when the caller is quiet (holdCopiesUntil), not
 * beside the write: a file created, written and renamed per APPEND cost a sequential APPEND on
 * Garage ~1 ms of CPU (the thread pool's ext4 inode creation most of it) on a machine whose two
 * cores Garage and the client share. Until then the copy is held in memory, up to HELD_BYTES, and
 * reads are served from it; past that, copies are written at once, as before.
 */
import { clipRange, sliceRange } from "../blobRange.ts";
import type { BlobHead, BlobListing, BlobStore, ByteRange } from "../types.ts";
import type { BlobBudget } from "./blobBudget.ts";
import type { CacheRules } from "./cachePolicy.ts";
import type { CacheWriter, Fill } from "./cacheWriter.ts";
import { evictCopies } from "./rowCopies.ts";

/** Bytes of written-through copies held for a quiet moment; past this, copies are written at once. */
export const HELD_BYTES = 16 * 1024 * 1024;

export class CachedBlobStore implements BlobStore {
  /** Whole-object reads from the remote, by key, until their copy is written (or dropped). */
  private readonly fetching = new Map<string, Promise<Uint8Array | null>>();
  /** Copies of bodies written through, not written to the cache yet (holdCopiesUntil). */
  private readonly held = new Map<string, { bytes: Uint8Array; fill: Fill }>();
  private heldBytes = 0;
  private quiet: (() => Promise<void>) | undefined;
  private releasing: Promise<void> | undefined;

  constructor(
    private readonly remote: BlobStore,
    private readonly cache: BlobStore,
    private readonly rules: CacheRules,
    private readonly writer: CacheWriter,
    private readonly budget: BlobBudget,
  ) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    if (!this.rules.isImmutableBlob(key)) return this.remote.put(key, bytes);
    // Taken before the remote call: the caller may reuse its buffer once put resolves.
    const copy = this.fits(bytes.length) ? Uint8Array.from(bytes) : undefined;
    await this.change(key, () => this.remote.put(key, bytes));
    if (copy) this.hold(key, copy);
  }

  /**
   * From now on, copies of what is written through wait for `quiet` (the caller's lull in client
   * work) before they are written, up to HELD_BYTES of them.
   */
  holdCopiesUntil(quiet: () => Promise<void>): void {
    this.quiet = quiet;
  }

  /** Hands every held copy to the writer now (settle, close). */
  release(): void {
    const held = [...this.held];
    this.held.clear();
    this.heldBytes = 0;
    for (const [key, { bytes, fill }] of held) void this.store(key, bytes, fill);
  }

  private hold(key: string, copy: Uint8Array): void {
    if (!this.quiet || this.heldBytes + copy.length > HELD_BYTES) {
      void this.store(key, copy);
      return;
    }
    // Registered now: a change to the key meanwhile makes it stale, as for any copy in flight.
    const fill = this.writer.begin(key, copy.length);
    if (!fill) return;
    this.held.set(key, { bytes: copy, fill });
    this.heldBytes += copy.length;
    // One waiter for all of them (a timer per held copy would poll through the whole burst), and
    // one copy at a time, each at a lull: the client's next command does not wait behind them.
    this.releasing ??= (async () => {
      try {
        while (this.held.size > 0) {
          await this.quiet!();
          const next = this.held.entries().next();
          if (next.done) break;
          const [key, { bytes, fill }] = next.value;
          this.held.delete(key);
          this.heldBytes -= bytes.length;
          await this.store(key, bytes, fill);
        }
      } finally {
        this.releasing = undefined;
      }
    })();
  }

  /** A held copy a read may use, or undefined. */
  private heldCopy(key: string): Uint8Array | undefined {
    const held = this.held.get(key);
    if (!held || held.fill.stale || !this.writer.usable || this.writer.isDirty(key)) return undefined;
    return held.bytes;
  }

  /** Drops a held copy (its key changed, or it is gone elsewhere). */
  private unhold(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    this.held.delete(key);
    this.heldBytes -= held.bytes.length;
    this.writer.abandon(held.fill);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    if (!this.rules.isImmutableBlob(key)) return this.remote.get(key, range);
    // A bad range is the caller's error, whichever store would have answered.
    if (range) clipRange(Number.MAX_SAFE_INTEGER, range);
    const held = this.heldCopy(key);
    // A copy: the caller may change what it is handed.
    if (held) return Uint8Array.from(sliceRange(held, range));
    if (this.cached(key)) {
      try {
        const local = await this.cache.get(key, range);
        if (local) {
          this.budget.touch(key);
          return local;
        }
        this.budget.remove(key); // gone from the folder (deleted by hand): fetch it again
      } catch (err) {
        this.writer.fail("read a cached blob", err);
      }
    }
    const joined = this.fetching.get(key);
    // A range of an object whose whole read is in flight (a large body read ahead at SELECT, which
    // FETCH streams by ranges) is cut from that read: asking the host for it too moves the same
    // bytes twice, and the ranges' round trips are what the read ahead was meant to spare.
    if (range && joined) return joined.then((bytes) => bytes && Uint8Array.from(sliceRange(bytes, range)));
    if (range) return this.remote.get(key, range);
    // A copy of the bytes: what one caller changes, another must not see.
    if (joined) return joined.then((bytes) => bytes && Uint8Array.from(bytes));
    const fill = this.writer.begin(key);
    const reading = this.remote.get(key);
    // Copied before this caller sees the bytes (then-callbacks run in order): what it does to them
    // never reaches a caller that joins.
    const shared = reading.then((bytes) => bytes && Uint8Array.from(bytes));
    shared.catch(() => undefined); // a joiner sees the failure; none may be waiting
    this.fetching.set(key, shared);
    const done = () => {
      if (this.fetching.get(key) === shared) this.fetching.delete(key);
    };
    let bytes: Uint8Array | null;
    try {
      bytes = await reading;
    } catch (err) {
      if (fill) this.writer.abandon(fill);
      done();
      throw err;
    }
    if (fill && bytes && this.fits(bytes.length)) {
      // The joiners' copy is the one written (no caller is handed it, each joiner copies it): one
      // copy of each body fewer. It may wait for the caller's lull (heldFills.ts); joiners are
      // served from it until it is written.
      void shared.then((copy) => this.store(key, copy!, fill, true)).finally(done);
    } else {
      if (fill) this.writer.abandon(fill);
      done();
    }
    return bytes;
  }

  async head(key: string): Promise<BlobHead | null> {
    const held = this.rules.isImmutableBlob(key) ? this.heldCopy(key) : undefined;
    if (held) return { size: held.length };
    if (this.rules.isImmutableBlob(key) && this.cached(key)) {
      this.budget.touch(key);
      return { size: this.budget.size(key)! };
    }
    return this.remote.head(key);
  }

  async delete(key: string): Promise<void> {
    if (!this.rules.isImmutableBlob(key)) return this.remote.delete(key);
    await this.change(key, () => this.remote.delete(key));
  }

  list(prefix: string, startAfter?: string, limit?: number): Promise<BlobListing> {
    return this.remote.list(prefix, startAfter, limit);
  }

  async copy(from: string, to: string): Promise<void> {
    if (!this.rules.isImmutableBlob(to)) return this.remote.copy(from, to);
    const size = this.rules.isImmutableBlob(from) && this.cached(from) ? this.budget.size(from) : undefined;
    const held = size === undefined && this.rules.isImmutableBlob(from) ? this.heldCopy(from) : undefined;
    await this.change(to, () => this.remote.copy(from, to));
    if (held && this.fits(held.length)) return this.hold(to, Uint8Array.from(held));
    if (size === undefined || !this.fits(size)) return;
    // The copy is the same bytes under a new name: copy the local file rather than download it.
    const fill = this.writer.begin(to);
    if (!fill) return;
    void this.writer.finish(fill, async () => {
      try {
        await this.cache.copy(from, to);
      } catch {
        return; // `from` was evicted meanwhile: `to` is simply not cached
      }
      if (!fill.stale) this.evictAfter(this.budget.add(to, size));
      else await this.cache.delete(to);
    });
  }

  /** Whether a read of `key` would be served from a local copy. */
  hasCopy(key: string): boolean {
    return this.rules.isImmutableBlob(key) && (this.cached(key) || this.heldCopy(key) !== undefined);
  }

  /** Drops local copies the caller knows are gone elsewhere; the remote is not touched. */
  forget(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.unhold(key);
    this.writer.dropFills(keys.filter((k) => this.rules.isImmutableBlob(k)));
    const mine = keys.filter((k) => this.rules.isImmutableBlob(k) && this.budget.has(k));
    for (const key of mine) this.budget.remove(key);
    return this.writer.runAfter(mine, async () => {
      for (const key of mine) {
        // A copy written again since (a fill in flight) counts once more: keep it.
        if (!this.budget.has(key)) await this.cache.delete(key);
      }
    });
  }

  /** Whether a read may use the local copy. */
  private cached(key: string): boolean {
    return this.writer.usable && !this.writer.isDirty(key) && this.budget.has(key);
  }

  private fits(size: number): boolean {
    return size <= this.budget.maxBytes;
  }

  /** A change to `key` on the remote: the local copy stops counting at once and is deleted after. */
  private change(key: string, remote: () => Promise<void>): Promise<void> {
    this.budget.remove(key);
    this.unhold(key);
    this.fetching.delete(key); // a read started before the change must not answer one after it
    return this.writer.change([key], remote, async () => {
      this.budget.remove(key);
      await this.cache.delete(key);
    });
  }

  /**
   * Writes a copy in the background and accounts for it; evicts what no longer fits. `mayWait`:
   * the copy of a read, which may wait for the caller's lull (CacheWriter.holdFillsUntil).
   */
  private store(
    key: string,
    bytes: Uint8Array,
    fill = this.writer.begin(key, bytes.length),
    mayWait = false,
  ): Promise<void> {
    if (!fill) return Promise.resolve();
    return this.writer.finish(
      fill,
      async () => {
        await this.cache.put(key, bytes);
        if (!fill.stale) this.evictAfter(this.budget.add(key, bytes.length));
        else await this.cache.delete(key);
      },
      mayWait ? bytes.length : undefined,
    );
  }

  private evictAfter(evicted: string[]): void {
    evictCopies(this.writer, this.cache, evicted);
  }
}
