/**
 * What one IMAP session believes about its selected mailbox: the UID of each sequence number, and
 * the highest MODSEQ it has reported. Other sessions and other computers change the UidIndex at any
 * time; this view changes only when the session may tell its client (RFC 3501 §7.4.1, §5.5), and
 * `catchUp` returns the untagged responses that tell it. Pure: works on the UidIndex, no I/O.
 */
import type { UidIndex } from "../../../mail/uidIndex.ts";

export type ViewUpdate =
  | { kind: "expunge"; seq: number }
  | { kind: "vanished"; uids: number[] }
  | { kind: "exists"; count: number }
  | { kind: "flags"; seq: number; uid: number; flags: string[]; modseq: number };

export interface CatchUpOptions {
  /** False during FETCH, STORE and SEARCH (by sequence number): RFC 3501 §7.4.1 forbids EXPUNGE then. */
  allowExpunge: boolean;
  /** QRESYNC enabled: expunges are reported as VANISHED (RFC 7162 §3.2.10). */
  qresync: boolean;
  /** CONDSTORE enabled: FETCH updates carry MODSEQ. */
  condstore: boolean;
}

export class SelectedView {
  /** Sequence number n is uids[n - 1]; ascending. */
  uids: number[];
  uidvalidity: number;
  /** Everything with a MODSEQ at or below this was reported. */
  reportedModseq: number;

  constructor(index: UidIndex) {
    this.uids = [...index.uids];
    this.uidvalidity = index.uidvalidity;
    this.reportedModseq = index.highestModseq;
  }

  get exists(): number {
    return this.uids.length;
  }

  uidAt(seq: number): number | undefined {
    return this.uids[seq - 1];
  }

  /** 1-based sequence number of a UID in this view, or 0. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /**
   * Whether a UID of this view left the index, without walking the view: UIDs are never handed out
   * again under one UIDVALIDITY, so the index's UIDs up to the view's last are a subset of the view's,
   * and counting them (binary search) says whether any is missing.
   */
  private someExpunged(index: UidIndex): boolean {
    const lastUid = this.uids[this.uids.length - 1];
    if (lastUid === undefined) return false;
    let lo = 0;
    let hi = index.uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (index.uids[mid]! <= lastUid) lo = mid + 1;
      else hi = mid;
    }
    return lo !== this.uids.length;
  }

  /**
   * Brings the view up to `index` as far as the rules allow, returning the updates in the order
   * they must be sent: expunges first (highest sequence number first, so each number is still
   * right when the client applies it), then EXISTS, then flag changes.
   */
  catchUp(index: UidIndex, opts: CatchUpOptions): ViewUpdate[] {
    const updates: ViewUpdate[] = [];
    if (opts.allowExpunge && this.someExpunged(index)) {
      const gone: number[] = [];
      const kept: number[] = [];
      for (const uid of this.uids) (index.byUid.has(uid) ? kept : gone).push(uid);
      if (gone.length > 0) {
        if (opts.qresync) {
          updates.push({ kind: "vanished", uids: gone });
        } else {
          for (let i = this.uids.length - 1; i >= 0; i--) {
            if (!index.byUid.has(this.uids[i]!)) updates.push({ kind: "expunge", seq: i + 1 });
          }
        }
        this.uids = kept;
      }
    }
    const lastUid = this.uids.length > 0 ? this.uids[this.uids.length - 1]! : 0;
    let firstNew = index.uids.length;
    while (firstNew > 0 && index.uids[firstNew - 1]! > lastUid) firstNew--;
    if (firstNew < index.uids.length) {
      for (let i = firstNew; i < index.uids.length; i++) this.uids.push(index.uids[i]!);
      updates.push({ kind: "exists", count: this.uids.length });
    }
    if (index.highestModseq > this.reportedModseq) {
      let highestReported = this.reportedModseq;
      let heldBack = false;
      // The view and the shown messages are both in UID order: one walk of the two, reading each
      // message's MODSEQ from its column, and an entry (its id decoded) only for one to report.
      // A lookup and an entry per message of the view, at every command of every session after
      // any write, was 7% of the server's CPU under the load tool (issue 18).
      const shown = index.shown;
      let at = 0;
      for (let i = 0; i < this.uids.length; i++) {
        const uid = this.uids[i]!;
        while (at < shown.size && shown.uids[at]! < uid) at++;
        if (at === shown.size || shown.uids[at] !== uid) {
          heldBack = true;
          continue;
        }
        const modseq = shown.modseqAt(at);
        if (modseq <= this.reportedModseq) continue;
        highestReported = Math.max(highestReported, modseq);
        // New messages were just announced by EXISTS; their flags come with the client's FETCH.
        if (uid > lastUid) continue;
        updates.push({ kind: "flags", seq: i + 1, uid, flags: shown.flagsAt(at) as string[], modseq });
      }
      // While an expunge is held back, its MODSEQ must not count as reported.
      this.reportedModseq = heldBack ? highestReported : index.highestModseq;
    }
    return updates;
  }
}
