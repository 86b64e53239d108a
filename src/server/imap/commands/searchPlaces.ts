/**
 * The UID each message of a search index file has in a mailbox, kept across searches (issue 11):
 * SEARCH looked every id of every file up in the mailbox's table by id (a hex decode and a hash
 * per id), and at 1,000 messages that was most of a SUBJECT search's remaining CPU once the files
 * stayed open (bench/notes.md). Kept per file's id list (the same array while the file is kept
 * open and nothing is removed from the index, searchIndex.ts) and per mailbox's shown messages,
 * until a message comes or goes there (ShownMessages.version). ~4 bytes a message.
 *
 * A UID is never given to another message (uidIndex.ts burns it), so even an out-of-date UID can
 * only miss the view (the message is then scanned), never stand for another message: the version
 * keeps the index answering for every message it can, the answer is right either way.
 */
import type { ShownMessages } from "../../../mail/shownMessages.ts";

interface Places {
  version: number;
  /** UID of the file's message k in the mailbox, 0 when the mailbox does not show it. */
  uids: Uint32Array;
}

const kept = new WeakMap<ShownMessages, WeakMap<readonly string[], Places>>();

/** For each id of `ids` (an index file's, "" for one to leave out), its UID in `shown`, or 0. */
export function uidsInMailbox(shown: ShownMessages, ids: readonly string[]): Uint32Array {
  let byFile = kept.get(shown);
  if (!byFile) kept.set(shown, (byFile = new WeakMap()));
  const places = byFile.get(ids);
  if (places?.version === shown.version) return places.uids;
  const uids = new Uint32Array(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    const at = id === "" ? -1 : shown.indexOfId(id);
    if (at >= 0) uids[k] = shown.uids[at]!;
  }
  byFile.set(ids, { version: shown.version, uids });
  return uids;
}
