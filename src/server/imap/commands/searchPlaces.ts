/**
 * The UID each message of a search index file has in a mailbox, kept across searches (issue 11):
 * SEARCH looked every id of every file up in the mailbox's table by id (a hex decode and a hash
 * per id), and at 1,000 messages that was most of a SUBJECT search's remaining CPU once the files
 * stayed open (bench/notes.md). Kept per file's id list (the same array while the file is kept
 * open and none of its ids is removed from the index or comes back, searchIndex.ts) and per
 * mailbox's shown messages. ~4 bytes a message.
 *
 * When messages come to the mailbox, only they are looked up in the file (IndexedBatch.positionOf):
 * UIDs only grow, so what came since the last search is what lies above the highest UID it saw,
 * unless a message was inserted lower (ShownMessages.insertsBelow: then everything is worked out
 * again). Messages that leave the mailbox keep their old UID here: a UID is never given to another
 * message (uidIndex.ts burns it), so an out-of-date UID can only miss the view (the message is
 * then scanned), never stand for another message. Working every file out again at every APPEND or
 * EXPUNGE was 7-9% of the server's CPU under the load tool (issue 18).
 */
import { FILTER_MAX_IDS, type IndexedBatch, type SearchIndex } from "../../../mail/search/index.ts";
import type { ShownMessages } from "../../../mail/shownMessages.ts";
import type { UidIndex } from "../../../mail/uidIndex.ts";

interface Places {
  /** ShownMessages.version and insertsBelow when `uids` was last brought up to date. */
  version: number;
  insertsBelow: number;
  /** The highest UID the mailbox showed then (0 when empty). */
  maxUid: number;
  /** UID of the file's message k in the mailbox, 0 when the mailbox does not show it. */
  uids: Uint32Array;
}

const kept = new WeakMap<ShownMessages, WeakMap<readonly string[], Places>>();

/** For each id of `batch.ids` ("" for one to leave out), its UID in `shown`, or 0. */
export function uidsInMailbox(
  shown: ShownMessages,
  batch: Pick<IndexedBatch, "ids" | "positionOf">,
): Uint32Array {
  const ids = batch.ids;
  let byFile = kept.get(shown);
  if (!byFile) kept.set(shown, (byFile = new WeakMap()));
  const places = byFile.get(ids);
  if (places?.version === shown.version) return places.uids;
  if (places?.insertsBelow === shown.insertsBelow) {
    // Only appends since: look up what lies above the highest UID of last time.
    const n = shown.size;
    for (let i = firstAbove(shown.uids, places.maxUid); i < n; i++) {
      const k = batch.positionOf(shown.idAt(i));
      if (k >= 0) places.uids[k] = shown.uids[i]!;
    }
    places.version = shown.version;
    places.maxUid = n > 0 ? shown.uids[n - 1]! : 0;
    return places.uids;
  }
  const uids = new Uint32Array(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    const at = id === "" ? -1 : shown.indexOfId(id);
    if (at >= 0) uids[k] = shown.uids[at]!;
  }
  const n = shown.size;
  byFile.set(ids, {
    version: shown.version,
    insertsBelow: shown.insertsBelow,
    maxUid: n > 0 ? shown.uids[n - 1]! : 0,
    uids,
  });
  return uids;
}

/** The first position of ascending `uids` holding a UID above `uid`. */
function firstAbove(uids: readonly number[], uid: number): number {
  let lo = 0;
  let hi = uids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (uids[mid]! > uid) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The ids a search of `uids` (a mailbox's view) asks the index about, so that it opens only the
 * files that may hold them: for a small mailbox of a large account. Undefined (every file) for a
 * mailbox holding half the index or more: most files then hold some of it, and listing its ids and
 * checking them against every file's filter cost more than it saved.
 */
export function indexWithin(
  uids: readonly number[],
  index: UidIndex,
  searchIndex: SearchIndex,
): string[] | undefined {
  if (uids.length > FILTER_MAX_IDS || uids.length * 2 > searchIndex.held) return undefined;
  return uids.flatMap((uid) => {
    const id = index.byUid.get(uid)?.id;
    return id === undefined ? [] : [id];
  });
}
