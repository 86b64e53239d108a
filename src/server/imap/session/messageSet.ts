/**
 * Turns a sequence set (by sequence number or by UID) into the UIDs of the session's view
 * (RFC 3501 §6.4.8, §9 seq-number). Sequence numbers past the end are an error, as Dovecot has it;
 * UIDs that do not exist are simply not there.
 */
import type { SeqRange, SequenceSet } from "../parser/types.ts";
import type { SelectedView } from "./selectedView.ts";
import { ImapError, bad } from "../protocol/errorResponse.ts";

export interface SetContext {
  view: SelectedView;
  /** The `$` of RFC 5182: UIDs saved by SEARCH RETURN (SAVE). */
  saved: number[];
}

/** The UIDs (ascending, unique) the set names in the view. */
export function resolveSet(set: SequenceSet, byUid: boolean, ctx: SetContext): number[] {
  const uids = ctx.view.uids;
  if ("saved" in set) return ctx.saved.filter((u) => ctx.view.seqOf(u) > 0);
  if (uids.length === 0) {
    if (!byUid) throw new ImapError(bad("no messages in the mailbox: invalid sequence set"));
    return [];
  }
  // One range (`1:*`, a client's chunk `a:b`): the view's UIDs are ascending and unique, so its
  // slice is the answer, without a set and a sort of what may be the whole mailbox.
  if (set.ranges.length === 1) return oneRange(set.ranges[0]!, byUid, uids);
  const out = new Set<number>();
  if (byUid) {
    const maxUid = uids[uids.length - 1]!;
    for (const r of set.ranges) {
      const a = r.from === Infinity ? maxUid : r.from;
      const b = r.to === Infinity ? maxUid : r.to;
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      // Walk the view, not the numbers: 1:4294967295 must not loop four billion times.
      const start = lowerBound(uids, lo);
      for (let i = start; i < uids.length && uids[i]! <= hi; i++) out.add(uids[i]!);
    }
  } else {
    const max = uids.length;
    for (const r of set.ranges) {
      const a = r.from === Infinity ? max : r.from;
      const b = r.to === Infinity ? max : r.to;
      if (a > max || b > max)
        throw new ImapError(bad(`invalid sequence number: the mailbox has ${max} messages`));
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      for (let s = lo; s <= hi; s++) out.add(uids[s - 1]!);
    }
  }
  return [...out].sort((x, y) => x - y);
}

function oneRange(r: SeqRange, byUid: boolean, uids: number[]): number[] {
  if (byUid) {
    const maxUid = uids[uids.length - 1]!;
    const a = r.from === Infinity ? maxUid : r.from;
    const b = r.to === Infinity ? maxUid : r.to;
    const start = lowerBound(uids, Math.min(a, b));
    const end = lowerBound(uids, Math.max(a, b) + 1);
    return uids.slice(start, Math.max(start, end));
  }
  const max = uids.length;
  const a = r.from === Infinity ? max : r.from;
  const b = r.to === Infinity ? max : r.to;
  if (a > max || b > max)
    throw new ImapError(bad(`invalid sequence number: the mailbox has ${max} messages`));
  return uids.slice(Math.min(a, b) - 1, Math.max(a, b));
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a UID (or sequence number) is in a set, without expanding it; `*` is `star`. */
export function setHas(set: SequenceSet, n: number, star: number, saved: number[]): boolean {
  if ("saved" in set) return saved.includes(n);
  for (const r of set.ranges) {
    const a = r.from === Infinity ? star : r.from;
    const b = r.to === Infinity ? star : r.to;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}
