/**
 * The UIDs of an index file's messages in a mailbox, kept across searches (searchPlaces.ts, issues
 * 11 and 18): appends since the last search are looked up alone and patched in, a message that
 * left keeps a UID that can only miss the view, and an insert below the highest UID works the
 * file out again. Working every file out again at every APPEND or EXPUNGE was 7-9% of the
 * server's CPU in an hour under the load tool.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { IndexedBatch } from "../../../../src/mail/search/index.ts";
import { ShownMessages } from "../../../../src/mail/shownMessages.ts";
import { uidsInMailbox } from "../../../../src/server/imap/commands/searchPlaces.ts";

const FLAGS: string[] = [];
const idOf = (n: number) => n.toString(16).padStart(32, "0");

function mailbox(...pairs: [number, number][]): ShownMessages {
  const shown = new ShownMessages();
  for (const [n, uid] of pairs) shown.insert(shown.size, { id: idOf(n), uid, modseq: 1, flags: FLAGS });
  return shown;
}

/** An index file holding messages `ns`, counting the lookups made in it one by one. */
function file(...ns: number[]): Pick<IndexedBatch, "ids" | "positionOf"> & { asked: string[] } {
  const ids = ns.map(idOf);
  const asked: string[] = [];
  return {
    ids,
    asked,
    positionOf: (id) => {
      asked.push(id);
      return ids.indexOf(id);
    },
  };
}

test("appends since the last search are looked up alone and patched into the same UIDs", () => {
  const shown = mailbox([1, 10], [2, 11], [3, 12]);
  const f = file(9, 2, 4, 3);
  const first = uidsInMailbox(shown, f);
  assert.deepEqual([...first], [0, 11, 0, 12]);
  assert.equal(uidsInMailbox(shown, f), first, "kept while nothing changes");
  shown.insert(shown.size, { id: idOf(4), uid: 13, modseq: 2, flags: FLAGS });
  shown.insert(shown.size, { id: idOf(5), uid: 14, modseq: 3, flags: FLAGS });
  const second = uidsInMailbox(shown, f);
  assert.equal(second, first, "patched, not worked out again");
  assert.deepEqual([...second], [0, 11, 13, 12]);
  assert.deepEqual(f.asked, [idOf(4), idOf(5)], "only the two appended messages were looked up");
});

test("a message that leaves keeps a UID that misses the view; one that comes back gets its new UID", () => {
  const shown = mailbox([1, 10], [2, 11]);
  const f = file(1, 2);
  assert.deepEqual([...uidsInMailbox(shown, f)], [10, 11]);
  shown.retain((uid) => uid !== 10);
  assert.deepEqual(
    [...uidsInMailbox(shown, f)],
    [10, 11],
    "UID 10 is gone from the view: it matches nothing",
  );
  // Renumbered (a UID clash, issue 17): the same message under a higher UID.
  shown.insert(shown.size, { id: idOf(1), uid: 12, modseq: 2, flags: FLAGS });
  assert.deepEqual([...uidsInMailbox(shown, f)], [12, 11]);
});

test("a message inserted below the highest UID has the file worked out again", () => {
  const shown = mailbox([1, 10], [3, 30]);
  const f = file(1, 2, 3);
  const first = uidsInMailbox(shown, f);
  assert.deepEqual([...first], [10, 0, 30]);
  shown.insert(1, { id: idOf(2), uid: 20, modseq: 2, flags: FLAGS });
  const second = uidsInMailbox(shown, f);
  assert.notEqual(second, first);
  assert.deepEqual([...second], [10, 20, 30]);
  assert.deepEqual(f.asked, [], "no lookups one by one: the whole file was worked out");
});

test("a removed message of the file (shown as '') gets no UID", () => {
  const shown = mailbox([1, 10], [2, 11]);
  const f = { ...file(1, 2), ids: [idOf(1), ""] };
  assert.deepEqual([...uidsInMailbox(shown, f)], [10, 0]);
});
