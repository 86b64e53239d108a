/**
 * A mailbox's shared list segments (listSegments.ts) fetched before the account's key is at hand
 * (issue 11: a second computer's header list). Their names follow from the mailbox id alone, so a
 * LOGIN that knows INBOX's id by this computer's hint (config/inboxHint.ts) can LIST
 * `index/<id>/list/` and GET the sealed objects while Argon2id runs; without it they went out only
 * once INBOX's first sync had ended, and met the client's header list. Nothing here opens them:
 * the shared list's fill (sharedListView.ts) takes a range's bytes instead of its own GET and
 * makes every check it makes of a fetched one (opened under the key bound to the object's name,
 * its ids checked against the index, a stale one rewritten), and only when the sealed list,
 * opened after the unlock, gives INBOX the hinted id. So a wrong hint or a host's wrong answer
 * costs reads, never an answer.
 *
 * The host learns nothing it does not see at every sync: the keys of a mailbox index's objects
 * and a first sync's reads of them.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { BlobStore } from "../storage/types.ts";
import { listSegmentKey, listSegmentPrefix } from "./listSegments.ts";
import { eachBounded } from "./messageStore.ts";

/**
 * The most segments fetched ahead: the first 16 ranges (16,000 messages; ~7 MB sealed on the bench
 * corpus, where 10 segments were 4.2 MB). A header list reads from the lowest UID up (Thunderbird
 * and the bench list in chunks of 200), so those are the ranges it meets first; the fill GETs the
 * others itself once INBOX's first sync has ended, as it did before. The bound keeps a mailbox of
 * 100,000 messages (or a host that lists thousands of keys) from holding a hundred sealed segments
 * in memory through the unlock and INBOX's sync, before anything can check them.
 */
export const SEGMENTS_AHEAD_MAX = 16;
/**
 * And at most this many bytes: no GET starts once the segments fetched hold that much (a range
 * of unusually large header blocks), so what waits for the key stays within ~16 MiB plus the
 * GETs already in flight.
 */
export const BYTES_AHEAD_MAX = 16 * 1024 * 1024;
/**
 * Slots of the store's read pool (Store.readParallelism) left to other calls while the segments'
 * GETs run: those the login makes meanwhile (the sealed list's, a client's first commands').
 */
const LANES_LEFT = 4;

export interface SegmentsAheadOptions {
  /** Nothing is listed unless it resolves true (say, when this computer holds no list view). */
  when?: Promise<boolean>;
  /**
   * The GETs start once it settles: the key root's read and the mailbox's first-sync reads, which
   * the unlock and the first SELECT wait on, go first (the store's pool is first come, first
   * served, and on a real link the segments' megabytes would share its bandwidth with them).
   */
  after: Promise<unknown>;
  /** The store's read pool now (Store.readParallelism). */
  parallelism: number;
  maxSegments?: number;
  maxBytes?: number;
}

/** The sealed segments of one mailbox fetched ahead: each range's bytes, taken once. */
export class SegmentsAhead {
  /** Each range listed within the bounds: its sealed bytes, undefined when they did not come. */
  private readonly fetched: Promise<Map<number, Promise<Uint8Array | undefined>>>;
  private dropped = false;

  constructor(
    private readonly blobs: BlobStore,
    readonly mailboxId: string,
    options: SegmentsAheadOptions,
  ) {
    const maxSegments = options.maxSegments ?? SEGMENTS_AHEAD_MAX;
    const maxBytes = options.maxBytes ?? BYTES_AHEAD_MAX;
    const lanes = Math.max(1, Math.min(maxSegments, options.parallelism - LANES_LEFT));
    const wanted = options.when ?? Promise.resolve(true);
    this.fetched = wanted
      .then(async (yes) => (yes ? this.listRanges(maxSegments) : []))
      .then((ranges) => {
        const slots = ranges.map((range) => ({ range, ...settleLater<Uint8Array | undefined>() }));
        void options.after.catch(() => undefined).then(() => this.fetchAll(slots, lanes, maxBytes));
        return new Map(slots.map((s) => [s.range, s.promise]));
      });
    this.fetched.catch(() => undefined); // a listing that failed fetches nothing: take says so
  }

  /** The ranges listed, in order (empty when the listing failed or the fetch was dropped). */
  async ranges(): Promise<number[]> {
    const fetched = await this.fetched.catch(() => undefined);
    return this.dropped || !fetched ? [] : [...fetched.keys()];
  }

  /**
   * Range `range`'s sealed bytes, once: undefined when it was not listed, was past the bounds, was
   * absent at its GET, or the GET failed (the caller then reads it itself). Never rejects.
   */
  async take(range: number): Promise<Uint8Array | undefined> {
    const fetched = await this.fetched.catch(() => undefined);
    const bytes = fetched?.get(range);
    fetched?.delete(range);
    return this.dropped ? undefined : bytes;
  }

  /** Lets go of every range not taken; GETs not started yet are not made. */
  drop(): void {
    this.dropped = true;
    void this.fetched.then((fetched) => fetched.clear()).catch(() => undefined);
  }

  private async listRanges(maxSegments: number): Promise<number[]> {
    const ranges: number[] = [];
    const prefix = listSegmentPrefix(this.mailboxId);
    const { keys } = await this.blobs.list(prefix, undefined, maxSegments);
    for (const key of keys) {
      const range = Number.parseInt(key.slice(prefix.length), 16);
      // Only names a segment of this mailbox has: anything else the host lists is not fetched.
      if (Number.isSafeInteger(range) && listSegmentKey(this.mailboxId, range) === key) ranges.push(range);
    }
    return ranges.sort((a, b) => a - b).slice(0, maxSegments);
  }

  private async fetchAll(
    slots: { range: number; resolve: (bytes: Uint8Array | undefined) => void }[],
    lanes: number,
    maxBytes: number,
  ): Promise<void> {
    let bytes = 0;
    // In range order, so the byte bound leaves out the highest ranges; never rejects.
    await eachBounded(slots, lanes, async (slot) => {
      if (this.dropped || bytes >= maxBytes) {
        slot.resolve(undefined);
        return;
      }
      try {
        const sealed = await this.blobs.get(listSegmentKey(this.mailboxId, slot.range));
        bytes += sealed?.byteLength ?? 0;
        slot.resolve(this.dropped ? undefined : (sealed ?? undefined));
      } catch {
        slot.resolve(undefined); // the fill GETs it itself, and meets the error there
      }
    });
  }
}

/**
 * Whether `listViewDir` holds a list view of some account (listView.ts: `<dir>/<account>/directory`).
 * A computer that has one has the facts of what it listed: fetching segments ahead would bring
 * what its fill does not read (it only asks whether they are there). Without the key the account's
 * folder cannot be named, but a home serves one account.
 */
export async function holdsListView(listViewDir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(listViewDir);
  } catch {
    return false; // no folder yet: a first start, or a cache deleted
  }
  for (const entry of entries) {
    const found = await stat(join(listViewDir, entry, "directory")).catch(() => undefined);
    if (found?.isFile()) return true;
  }
  return false;
}

function settleLater<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
