import { test } from "node:test";
import assert from "node:assert/strict";
import { applyUidOp, emptyUidIndex, seqOfUid, type UidOp } from "../../src/mail/uidIndex.ts";

function replay(ops: UidOp[], validity = 100) {
  return ops.reduce((s, op) => applyUidOp(s, op), emptyUidIndex(validity));
}

test("UIDs and MODSEQs are assigned in apply order and UIDNEXT grows", () => {
  const s = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "b", guessUid: 2, flags: ["\\seen"] },
  ]);
  assert.deepEqual(s.uids, [1, 2]);
  assert.equal(s.uidnext, 3);
  assert.equal(s.byId.get("b")!.flags[0], "\\Seen");
  assert.equal(s.byId.get("a")!.modseq < s.byId.get("b")!.modseq, true);
  assert.equal(s.uidvalidity, 100);
});

test("UIDVALIDITY moves only when two writers handed out the same UID", () => {
  // Both computers saw UIDNEXT 1 and told their clients UID 1.
  const clash = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "b", guessUid: 1, flags: [] },
  ]);
  assert.equal(clash.uidvalidity, 101);
  assert.equal(clash.byId.get("b")!.uid, 2);
  // Concurrent flag changes never move it.
  const flags = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "flags", ids: ["a"], mode: "add", flags: ["\\Seen"] },
    { t: "flags", ids: ["a"], mode: "remove", flags: ["\\Seen"] },
    { t: "flags", ids: ["a"], mode: "set", flags: ["$Label1"] },
  ]);
  assert.equal(flags.uidvalidity, 100);
  assert.deepEqual(flags.byId.get("a")!.flags, ["$Label1"]);
});

test("a flag op that changes nothing does not bump MODSEQ; one that does shares one MODSEQ", () => {
  const s = replay([
    { t: "add", id: "a", guessUid: 1, flags: ["\\Seen"] },
    { t: "add", id: "b", guessUid: 2, flags: [] },
  ]);
  const before = s.highestModseq;
  applyUidOp(s, { t: "flags", ids: ["a"], mode: "add", flags: ["\\SEEN"] });
  assert.equal(s.highestModseq, before);
  applyUidOp(s, { t: "flags", ids: ["a", "b"], mode: "add", flags: ["\\Flagged"] });
  assert.equal(s.highestModseq, before + 1);
  assert.equal(s.byId.get("a")!.modseq, s.byId.get("b")!.modseq);
});

test("expunges are recorded with their MODSEQ and sequence numbers close up", () => {
  const s = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "b", guessUid: 2, flags: [] },
    { t: "add", id: "c", guessUid: 3, flags: [] },
    { t: "expunge", ids: ["b", "zz"] },
  ]);
  assert.deepEqual(s.uids, [1, 3]);
  assert.equal(seqOfUid(s, 3), 2);
  assert.equal(seqOfUid(s, 2), 0);
  assert.deepEqual(s.vanished, [{ uid: 2, modseq: s.highestModseq }]);
  // A later flag op on the expunged message is a no-op.
  const m = s.highestModseq;
  applyUidOp(s, { t: "flags", ids: ["b"], mode: "add", flags: ["\\Seen"] });
  assert.equal(s.highestModseq, m);
});

test("a retried add of the same message keeps the first UID", () => {
  const s = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "a", guessUid: 1, flags: [] },
  ]);
  assert.deepEqual(s.uids, [1]);
  assert.equal(s.uidvalidity, 100);
});
