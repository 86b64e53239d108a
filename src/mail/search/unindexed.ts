/**
 * Which messages of the account's mailboxes the search index lacks, for the background pass
 * (indexFiller.ts). Compared without a string per message: the mailboxes keep their ids as
 * columns (shownMessages.ts), and the index hands its ids over one file at a time, so only the
 * missing ones become strings. Listing every id of 100,000 messages as strings, and the index's
 * ids as a Set beside them, held ~15 MB at once for the first seconds after a login, right when a
 * client's first sync runs (issue 11: the bench's `UID FETCH 1:* (FLAGS)` phase).
 */

/** The messages of one mailbox, as its UidIndex keeps them (ShownMessages). */
export interface MessageColumns {
  readonly size: number;
  /** Ascending; position i is the message at idAt(i). */
  readonly uids: readonly number[];
  /** The position of an id, or -1. */
  indexOfId(id: string): number;
  idAt(i: number): string;
}

export interface Unindexed {
  /** Messages of all mailboxes (one in two mailboxes counts twice). */
  total: number;
  /** Ids the index lacks, each once, mailbox by mailbox in UID order, less `skip`. */
  missing: string[];
  /**
   * Ids the index holds that no mailbox held when the walk came to them (issue 18: expunged
   * messages whose removal a kill -9 or an older build lost), each once.
   */
  stale: string[];
}

/**
 * `indexed` calls its visitor with every id the index holds (awaiting between files). The
 * mailboxes may change meanwhile (a client's APPEND or EXPUNGE shifts positions): a message is
 * found again by its UID at the start, so a shift never marks the wrong one, and one expunged
 * meanwhile is left out.
 */
export async function unindexed(
  boxes: readonly MessageColumns[],
  indexed: (visit: (id: string) => void) => Promise<void>,
  skip: ReadonlySet<string>,
): Promise<Unindexed> {
  // UIDs are 32-bit (RFC 3501 §2.3.1.1): 4 bytes a message, and 1 for "the index has it".
  const uidsAtStart = boxes.map((box) => Uint32Array.from(box.uids));
  const have = boxes.map((box) => new Uint8Array(box.size));
  const stale = new Set<string>();
  await indexed((id) => {
    let held = false;
    for (let k = 0; k < boxes.length; k++) {
      const box = boxes[k]!;
      const at = box.indexOfId(id);
      if (at < 0) continue;
      held = true;
      const p = positionOf(uidsAtStart[k]!, box.uids[at]!);
      if (p >= 0) have[k]![p] = 1;
    }
    if (!held) stale.add(id);
  });
  let total = 0;
  const missing: string[] = [];
  const listed = new Set<string>();
  for (let k = 0; k < boxes.length; k++) {
    const box = boxes[k]!;
    const uids = uidsAtStart[k]!;
    total += uids.length;
    for (let p = 0; p < uids.length; p++) {
      if (have[k]![p]) continue;
      const at = positionOf(box.uids, uids[p]!);
      if (at < 0) continue; // expunged meanwhile
      const id = box.idAt(at);
      if (skip.has(id) || listed.has(id)) continue;
      listed.add(id);
      missing.push(id);
    }
  }
  return { total, missing, stale: [...stale] };
}

/** Binary search of ascending `uids`; -1 when absent. */
function positionOf(uids: ArrayLike<number>, uid: number): number {
  let lo = 0;
  let hi = uids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = uids[mid]!;
    if (v === uid) return mid;
    if (v < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
