import { test } from "node:test";
import assert from "node:assert/strict";
import { applyUidOp, emptyUidIndex, type UidIndex } from "../../../src/mail/uidIndex.ts";
import { SelectedView } from "../../../src/server/imap/session/selectedView.ts";

function mailbox(n: number): UidIndex {
  const s = emptyUidIndex(7);
  for (let i = 1; i <= n; i++) applyUidOp(s, { t: "add", id: `m${i}`, guessUid: i, flags: [] });
  return s;
}
const plain = { allowExpunge: true, qresync: false, condstore: false };

test("expunges are reported highest sequence number first, then EXISTS, then flag changes", () => {
  const index = mailbox(5);
  const view = new SelectedView(index);
  applyUidOp(index, { t: "expunge", ids: ["m2", "m4"] });
  applyUidOp(index, { t: "add", id: "m6", guessUid: 6, flags: [] });
  applyUidOp(index, { t: "flags", ids: ["m5"], mode: "add", flags: ["\\Seen"] });
  const updates = view.catchUp(index, plain);
  assert.deepEqual(
    updates.map((u) => u.kind + ("seq" in u ? u.seq : "count" in u ? u.count : "")),
    ["expunge4", "expunge2", "exists4", "flags3"],
  );
  assert.deepEqual(view.uids, [1, 3, 5, 6]);
  assert.deepEqual(view.catchUp(index, plain), []);
});

test("during FETCH/STORE/SEARCH expunges wait, sequence numbers stay, and nothing is lost", () => {
  const index = mailbox(3);
  const view = new SelectedView(index);
  applyUidOp(index, { t: "expunge", ids: ["m1"] });
  applyUidOp(index, { t: "flags", ids: ["m3"], mode: "add", flags: ["\\Flagged"] });
  const held = view.catchUp(index, { ...plain, allowExpunge: false });
  assert.deepEqual(
    held.map((u) => u.kind),
    ["flags"],
  );
  assert.equal(view.seqOf(3), 3);
  const later = view.catchUp(index, plain);
  assert.deepEqual(later, [{ kind: "expunge", seq: 1 }]);
  assert.equal(view.seqOf(3), 2);
});

test("with QRESYNC expunges go out as one VANISHED", () => {
  const index = mailbox(4);
  const view = new SelectedView(index);
  applyUidOp(index, { t: "expunge", ids: ["m1", "m3"] });
  assert.deepEqual(view.catchUp(index, { ...plain, qresync: true }), [{ kind: "vanished", uids: [1, 3] }]);
});

test("a UID clash under the session shows as an expunge, then the messages again under new UIDs", () => {
  const index = mailbox(2);
  const view = new SelectedView(index);
  // Another computer also handed out UID 2, to "x": both messages wait for fresh UIDs.
  applyUidOp(index, { t: "add", id: "x", guessUid: 2, flags: [] });
  assert.deepEqual(view.catchUp(index, { ...plain, qresync: true }), [{ kind: "vanished", uids: [2] }]);
  applyUidOp(index, { t: "renumber", id: "m2", uid: 3 });
  applyUidOp(index, { t: "renumber", id: "x", uid: 4 });
  assert.deepEqual(view.catchUp(index, plain), [{ kind: "exists", count: 3 }]);
  assert.deepEqual(view.uids, [1, 3, 4]);
  assert.equal(index.uidvalidity, 7);
});

test("an expunge of the view's last messages is seen even when new mail came in behind them", () => {
  const index = mailbox(4);
  const view = new SelectedView(index);
  applyUidOp(index, { t: "expunge", ids: ["m3", "m4"] });
  applyUidOp(index, { t: "add", id: "m5", guessUid: 5, flags: [] });
  applyUidOp(index, { t: "add", id: "m6", guessUid: 6, flags: [] });
  assert.deepEqual(
    view.catchUp(index, plain).map((u) => u.kind + ("seq" in u ? u.seq : "count" in u ? u.count : "")),
    ["expunge4", "expunge3", "exists4"],
  );
  assert.deepEqual(view.uids, [1, 2, 5, 6]);
  applyUidOp(index, { t: "expunge", ids: ["m1", "m2", "m5", "m6"] });
  assert.deepEqual(view.catchUp(index, { ...plain, qresync: true }), [
    { kind: "vanished", uids: [1, 2, 5, 6] },
  ]);
  assert.deepEqual(view.uids, []);
  assert.deepEqual(view.catchUp(index, plain), []);
});
