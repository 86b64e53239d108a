import assert from "node:assert/strict";
import { test } from "node:test";
import { ShownMessages } from "../../src/mail/shownMessages.ts";
import { appendEntry, applyUidOp, emptyUidIndex, lateChanges } from "../../src/mail/uidIndex.ts";
import { decodeUidIndex, encodeUidIndex } from "../../src/mail/uidIndexCodec.ts";

// IMAP flags are atoms, but op rows come from any computer of the account: a faulty one may write a
// flag with a space. Joined with a space, ["a b"] and ["a", "b"] were one key, so one shared list.

test("a flag with a space and the two flags it splits into stay two lists through replay and snapshot", () => {
  const state = emptyUidIndex(7);
  applyUidOp(state, { t: "add", id: "m1", guessUid: 1, flags: ["key one"] });
  applyUidOp(state, { t: "add", id: "m2", guessUid: 2, flags: ["key", "one"] });
  applyUidOp(state, { t: "add", id: "m3", guessUid: 3, flags: ["keyone"] });
  assert.deepEqual(state.byId.get("m1")!.flags, ["key one"]);
  assert.deepEqual(state.byId.get("m2")!.flags, ["key", "one"]);
  assert.deepEqual(state.byId.get("m3")!.flags, ["keyone"]);
  const back = decodeUidIndex(encodeUidIndex(state));
  assert.deepEqual(back.byId.get("m1")!.flags, ["key one"]);
  assert.deepEqual(back.byId.get("m2")!.flags, ["key", "one"]);
  assert.deepEqual(back.byId.get("m3")!.flags, ["keyone"]);
});

test("the columns keep lists apart that a space-joined key would merge, interned or not", () => {
  const shown = new ShownMessages();
  const lists = [["x y"], ["x", "y"], Object.freeze(["p q"]), Object.freeze(["p", "q"])];
  lists.forEach((flags, i) =>
    shown.insert(i, { id: `id${i}`, uid: i + 1, modseq: 1, flags: flags as string[] }),
  );
  assert.deepEqual(
    lists.map((_, i) => shown.flagsAt(i)),
    lists.map((l) => [...l]),
  );
  assert.equal(shown.flagListsInUse().length, 4);
});

test("a snapshot keeps two lists apart that a space-joined key would merge", () => {
  const state = emptyUidIndex(9);
  // Frozen lists not interned: only the codec's own key can tell them apart.
  appendEntry(state, { id: "s1", uid: 1, modseq: 2, flags: Object.freeze(["s t"]) as string[] });
  appendEntry(state, { id: "s2", uid: 2, modseq: 2, flags: Object.freeze(["s", "t"]) as string[] });
  const back = decodeUidIndex(encodeUidIndex(state));
  assert.deepEqual(back.byId.get("s1")!.flags, ["s t"]);
  assert.deepEqual(back.byId.get("s2")!.flags, ["s", "t"]);
});

test("lateChanges sees a message whose flags changed from one flag with a space to the two it splits into", () => {
  const before = emptyUidIndex(3);
  appendEntry(before, { id: "l1", uid: 1, modseq: 4, flags: ["u v"] });
  before.highestModseq = 5;
  const after = emptyUidIndex(3);
  appendEntry(after, { id: "l1", uid: 1, modseq: 4, flags: ["u", "v"] });
  after.highestModseq = 5;
  assert.deepEqual(lateChanges(before, after).ids, ["l1"]);
});
