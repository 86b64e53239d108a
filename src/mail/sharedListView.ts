/**
 * The list view shared through the bucket (listSegments.ts; docs/architecture.md, "The list view
 * shared through the bucket"): at a mailbox's first open in a process, every segment of its full
 * UID ranges is fetched at once and its facts join this computer's list view (listView.ts), so a
 * client's header list opens ~10 objects at 10,000 messages instead of 10,000 meta rows. A range
 * whose segment is missing, does not open, or holds a message the range no longer shows is
 * written (again) by a computer that holds the facts of every message the range shows: the
 * computer that imported them, one that listed them, one that expunged from the range.
 *
 * Why a host's segment can only cost time: a message id's facts never change (its meta is written
 * once; a COPY makes a new id), and a segment is sealed by a holder of the account's keys for its
 * own name, so each of its entries is right for its id. What a segment lacks (dropped, rolled back,
 * written before a later message, foreign, forged: these last two do not open) is read from the
 * messages' meta rows as before. Entries for ids the mailbox does not show are never used.
 */
import type { SealKey } from "../crypto/aead.ts";
import type { Log } from "../log.ts";
import type { BlobStore } from "../storage/types.ts";
import type { ListView } from "./listView.ts";
import {
  fullRanges,
  listSegmentKey,
  listSegmentPrefix,
  openListSegmentBytes,
  rangeOfUid,
  sealListSegment,
  SHARED_SPAN,
} from "./listSegments.ts";
import type { SegmentsAhead } from "./listSegmentsAhead.ts";
import { eachBounded } from "./messageStore.ts";
import type { UidIndex } from "./uidIndex.ts";

/** HEADs in flight at once when a warm computer checks that its segments are in the bucket. */
const HEAD_LANES = 2;

/** A segment opened: its encoding (listView.ts), or why it does not open. */
type Opened = { encoded: Buffer } | { refused: Error };
/** The segments of a mailbox fetched at login, by range, each opened (undefined: did not come). */
type OpenedAhead = ReadonlyMap<number, Promise<Opened | undefined>>;

interface SharedMailbox {
  readonly id: string;
  readonly index: Pick<UidIndex, "uidnext" | "uids" | "shown">;
}

/** The ids shown in range `range` (positions found by binary search of the sorted UIDs). */
export function idsInRange(index: SharedMailbox["index"], range: number, span = SHARED_SPAN): string[] {
  const { uids, shown } = index;
  const first = firstAtOrAbove(uids, range * span + 1);
  const end = firstAtOrAbove(uids, (range + 1) * span + 1);
  const out: string[] = [];
  for (let i = first; i < end; i++) out.push(shown.idAt(i));
  return out;
}

function firstAtOrAbove(uids: readonly number[], uid: number): number {
  let lo = 0;
  let hi = uids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (uids[mid]! < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SharedListView {
  /** Each mailbox's last fill. */
  private readonly fills = new Map<string, Promise<void>>();
  /** Ranges looked for in the bucket in this process, by mailbox. */
  private readonly checked = new Map<string, Set<number>>();
  /** Ranges whose segment should be written once this computer holds their facts, by mailbox. */
  private readonly wanted = new Map<string, Set<number>>();
  /** Segments fetched at login (takeAhead), opened, by mailbox then range, until its fill ends. */
  private readonly ahead = new Map<string, Promise<OpenedAhead>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly key: SealKey,
    private readonly view: ListView,
    /** GETs in flight at once (the store's read pool). */
    private readonly parallel: () => number,
    private readonly log?: Log,
    /** UIDs per segment: SHARED_SPAN but in tests, which would otherwise need 1,000s of messages. */
    private readonly span = SHARED_SPAN,
  ) {}

  /**
   * Looks in the bucket for the segments of the mailbox's full ranges not looked for yet in this
   * process, all at once, and adds the facts of the messages the mailbox shows to the list view,
   * which answers no read of a range's messages until that range's segment is in (or known absent,
   * or not opening). A range whose every message the view holds already
   * is only asked whether it is there (HEAD): a warm computer reads no segment. Never rejects.
   */
  fill(mbx: SharedMailbox): Promise<void> {
    const before = this.fills.get(mbx.id) ?? Promise.resolve();
    // What was fetched at login for this mailbox (takeAhead) serves this fill only; the rest goes.
    const ahead = this.ahead.get(mbx.id);
    this.ahead.delete(mbx.id);
    const checked = this.setOf(this.checked, mbx.id);
    const ranges: number[] = [];
    for (let k = 0; k < fullRanges(mbx.index.uidnext, this.span); k++) if (!checked.has(k)) ranges.push(k);
    if (ranges.length === 0) return before;
    for (const k of ranges) checked.add(k);
    // A list waits for the GETs only (a warm computer's HEADs do not hold it back), and each of
    // its reads only for the segments of the messages it asks for: a header list's first chunk
    // is answered once the first range is in, while the other ranges are still on their way.
    const got = new Map<number, () => void>();
    for (const k of ranges) {
      const gotten = new Promise<void>((resolve) => got.set(k, resolve));
      this.view.waitForSome(gotten, idsInRange(mbx.index, k, this.span));
    }
    const gotRange = (k: number) => got.get(k)?.();
    const filling = before
      .then(() => this.fillNow(mbx, ranges, gotRange, ahead))
      .catch((err: unknown) => {
        this.log?.("debug", `shared list view not read: ${(err as Error).message}`);
      })
      .finally(() => {
        for (const k of ranges) gotRange(k);
      });
    this.fills.set(mbx.id, filling);
    return filling;
  }

  private async fillNow(
    mbx: SharedMailbox,
    ranges: number[],
    got: (range: number) => void,
    ahead: Promise<OpenedAhead> | undefined,
  ): Promise<void> {
    const early = await ahead;
    await this.view.ready();
    const wanted = this.setOf(this.wanted, mbx.id);
    const held: number[] = [];
    const lacking: number[] = [];
    for (const range of ranges)
      (idsInRange(mbx.index, range, this.span).every((id) => this.view.holds(id)) ? held : lacking).push(
        range,
      );
    for (const range of held) got(range);
    // Two at a time: nothing waits for them, and a burst of ten would open as many new
    // connections to the host on a warm computer (the bench's warm sessions: 34 against 25).
    const heads = eachBounded(held, Math.min(HEAD_LANES, this.parallel()), async (range) => {
      if (!(await this.blobs.head(listSegmentKey(mbx.id, range)))) wanted.add(range);
    });
    heads.catch(() => undefined); // awaited below
    await eachBounded(lacking, this.parallel(), async (range) => {
      try {
        await this.fillRange(mbx, range, wanted, early?.get(range));
      } finally {
        got(range);
      }
    });
    await heads;
  }

  /**
   * Takes `ahead`, the segments of its mailbox fetched at login (listSegmentsAhead.ts), for that
   * mailbox's next fill, which uses each range's bytes instead of its own GET. Each is opened and
   * inflated at once, as it comes (the key and the object's name are all that needs: the id check
   * against the index waits for the fill, after the mailbox's first sync). Dropped when a fill of
   * that mailbox has already started.
   */
  takeAhead(ahead: SegmentsAhead): void {
    if (this.fills.has(ahead.mailboxId)) {
      ahead.drop();
      return;
    }
    const opened = ahead.ranges().then((ranges) => {
      const byRange = new Map<number, Promise<Opened | undefined>>();
      for (const range of ranges) {
        const key = listSegmentKey(ahead.mailboxId, range);
        const one = ahead.take(range).then((sealed) => (sealed ? this.openSegment(key, sealed) : undefined));
        byRange.set(range, one);
      }
      return byRange;
    });
    this.ahead.set(ahead.mailboxId, opened);
  }

  /** Lets go of what was fetched at login for `mailboxId` and not used (its opening failed). */
  dropAhead(mailboxId: string): void {
    this.ahead.delete(mailboxId);
  }

  /** Authenticated under the key bound to `key`, inflated; a refusal as a value. */
  private async openSegment(key: string, sealed: Uint8Array): Promise<Opened> {
    try {
      return { encoded: await openListSegmentBytes(this.key, key, sealed) };
    } catch (err) {
      return { refused: err as Error };
    }
  }

  /**
   * Reads range `range`'s segment and adopts its facts; never rejects. `ahead`: the segment as
   * fetched at login and opened, used instead of a GET when it came (checked as one GET here).
   */
  private async fillRange(
    mbx: SharedMailbox,
    range: number,
    wanted: Set<number>,
    ahead?: Promise<Opened | undefined>,
  ): Promise<void> {
    const key = listSegmentKey(mbx.id, range);
    let opened = await ahead;
    if (!opened) {
      let sealed: Uint8Array | null;
      try {
        sealed = await this.blobs.get(key);
      } catch (err) {
        // The host did not answer: its messages are read from meta; the segment is not rewritten.
        this.log?.("debug", `list segment ${key} not read: ${(err as Error).message}`);
        return;
      }
      if (!sealed) {
        wanted.add(range);
        return;
      }
      opened = await this.openSegment(key, sealed);
    }
    if ("refused" in opened) {
      // Forged, damaged, swapped, or sealed under a dropped key epoch: as if absent.
      this.log?.(
        "warn",
        `list segment ${key} does not open (${opened.refused.message}); it is written again`,
      );
      wanted.add(range);
      return;
    }
    const shown = new Set(idsInRange(mbx.index, range, this.span));
    let stale: boolean;
    try {
      // As opened: the list reads them from memory; the local copy is written after it. An id
      // the range does not show was expunged or renumbered since the segment was written.
      stale = this.view.adopt(opened.encoded, (id) => shown.has(id));
    } catch (err) {
      // Sealed by a holder of the keys, yet not a segment: as if absent.
      this.log?.(
        "warn",
        `list segment ${key} does not decode (${(err as Error).message}); it is written again`,
      );
      wanted.add(range);
      return;
    }
    if (stale) wanted.add(range);
  }

  /**
   * Writes the wanted segments (of `only` these ranges, if given) whose facts this computer holds
   * for every message shown, after the mailbox's fill. Returns how many; never rejects.
   */
  async share(mbx: SharedMailbox, only?: ReadonlySet<number>): Promise<number> {
    try {
      await this.fills.get(mbx.id);
      const wanted = [...this.setOf(this.wanted, mbx.id)].filter((k) => !only || only.has(k));
      let written = 0;
      for (const range of wanted.sort((a, b) => a - b)) if (await this.write(mbx, range)) written++;
      return written;
    } catch (err) {
      this.log?.("debug", `shared list view not written: ${(err as Error).message}`);
      return 0;
    }
  }

  /**
   * After a client listed messages from UID `first` to `last`: ranges that became full are looked
   * for, and the wanted ones among those listed are written once their facts are all held here
   * (a second computer shares what it listed). Never rejects.
   */
  async listed(mbx: SharedMailbox, first: number, last: number): Promise<void> {
    await this.fill(mbx);
    const ranges = new Set<number>();
    for (let k = rangeOfUid(first, this.span); k <= rangeOfUid(last, this.span); k++) ranges.add(k);
    await this.share(mbx, ranges);
  }

  /**
   * After an expunge: the segments of the ranges of these UIDs are written without the messages
   * gone, or deleted when this computer lacks facts of some message left (no header of a deleted
   * message stays in the bucket longer than it must). Never rejects.
   */
  async expunged(mbx: SharedMailbox, uids: readonly number[]): Promise<void> {
    const full = fullRanges(mbx.index.uidnext, this.span);
    const ranges = new Set(uids.map((uid) => rangeOfUid(uid, this.span)).filter((k) => k < full));
    for (const range of ranges) {
      try {
        if (!(await this.write(mbx, range))) {
          await this.blobs.delete(listSegmentKey(mbx.id, range));
          this.setOf(this.wanted, mbx.id).add(range);
        }
      } catch (err) {
        this.log?.("debug", `list segment not rewritten: ${(err as Error).message}`);
      }
    }
  }

  /** The mailbox was deleted: its segments go with it. */
  async dropMailbox(mailboxId: string): Promise<void> {
    this.wanted.delete(mailboxId);
    this.checked.delete(mailboxId);
    await dropListSegments(this.blobs, mailboxId);
  }

  /** Writes range `range`'s segment if the view holds the facts of every message it shows. */
  private async write(mbx: SharedMailbox, range: number): Promise<boolean> {
    const ids = idsInRange(mbx.index, range, this.span);
    await this.view.settled(); // other mailboxes' fills (a MOVE brings their messages here)
    if (!ids.every((id) => this.view.holds(id))) return false;
    const facts = await this.view.get(ids);
    if (facts.size < ids.length) return false;
    const key = listSegmentKey(mbx.id, range);
    const entries = ids.map((id) => [id, facts.get(id)!] as const);
    await this.blobs.put(key, await sealListSegment(this.key, key, entries));
    this.wanted.get(mbx.id)?.delete(range);
    return true;
  }

  private setOf(sets: Map<string, Set<number>>, mailboxId: string): Set<number> {
    let set = sets.get(mailboxId);
    if (!set) sets.set(mailboxId, (set = new Set()));
    return set;
  }
}

/** Deletes every shared list segment of a mailbox (its deletion, a rekey). */
export async function dropListSegments(blobs: BlobStore, mailboxId: string): Promise<number> {
  const prefix = listSegmentPrefix(mailboxId);
  let count = 0;
  let after: string | undefined;
  do {
    const page = await blobs.list(prefix, after, 1000);
    for (const key of page.keys) await blobs.delete(key);
    count += page.keys.length;
    after = page.nextStartAfter;
  } while (after !== undefined);
  return count;
}
