import { test } from "node:test";
import assert from "node:assert/strict";
import { timestampAt } from "../../src/sync/index.ts";
import {
  applyUidOp,
  emptyUidIndex,
  lateChanges,
  modseqFloor,
  normalizeFlags,
  seqOfUid,
  type UidOp,
} from "../../src/mail/uidIndex.ts";

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

test("two writers handing out one UID burn it; UIDVALIDITY stays and the messages wait unplaced", () => {
  // Both computers saw UIDNEXT 2 and told their clients UID 2.
  const clash = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "b", guessUid: 2, flags: [] },
    { t: "add", id: "c", guessUid: 2, flags: [] },
  ]);
  assert.equal(clash.uidvalidity, 100);
  assert.deepEqual(clash.uids, [1]);
  assert.deepEqual([...clash.unplaced.keys()].sort(), ["b", "c"]);
  assert.deepEqual(
    clash.vanished.map((v) => v.uid),
    [2],
  );
  assert.equal(clash.uidnext, 3);
  // Renumber ops give them fresh UIDs above every UID handed out; 2 is never shown again.
  applyUidOp(clash, { t: "renumber", id: "b", uid: 3 });
  applyUidOp(clash, { t: "renumber", id: "c", uid: 4 });
  assert.deepEqual(clash.uids, [1, 3, 4]);
  assert.equal(clash.unplaced.size, 0);
  applyUidOp(clash, { t: "add", id: "d", guessUid: 2, flags: [] }); // a late writer that saw only "a"
  assert.deepEqual(clash.uids, [1, 3, 4]);
  assert.equal(clash.unplaced.has("d"), true);
  // Concurrent flag changes never move UIDVALIDITY.
  const flags = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "flags", ids: ["a"], mode: "add", flags: ["\\Seen"] },
    { t: "flags", ids: ["a"], mode: "remove", flags: ["\\Seen"] },
    { t: "flags", ids: ["a"], mode: "set", flags: ["$Label1"] },
  ]);
  assert.equal(flags.uidvalidity, 100);
  assert.deepEqual(flags.byId.get("a")!.flags, ["$Label1"]);
});

test("the UIDs shown depend on the claims, not on the order the replay meets them", () => {
  const ops: UidOp[] = [
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "b", guessUid: 1, flags: [] },
    { t: "renumber", id: "a", uid: 2 },
    { t: "renumber", id: "b", uid: 3 },
    { t: "renumber", id: "a", uid: 4 }, // a second computer renumbered "a" too: the highest claim wins
    { t: "add", id: "c", guessUid: 3, flags: [] }, // a late claim on a renumbered UID burns it
  ];
  const shown = (s: ReturnType<typeof replay>) => [...s.byUid.values()].map((e) => `${e.id}@${e.uid}`);
  const forward = replay(ops);
  // Another order a replay can meet them in: each renumber still comes after its message's add (a
  // writer renumbers only what it saw clash), the rest any way round.
  const backward = replay([ops[1]!, ops[0]!, ops[5]!, ops[3]!, ops[4]!, ops[2]!]);
  assert.deepEqual(shown(forward), ["a@4"]);
  assert.deepEqual(shown(backward), shown(forward));
  assert.deepEqual([...forward.unplaced.keys()].sort(), ["b", "c"]);
  assert.deepEqual([...backward.unplaced.keys()].sort(), ["b", "c"]);
  assert.deepEqual([...forward.vanishedUids].sort(), [1, 2, 3]);
  assert.deepEqual([...backward.vanishedUids].sort(), [1, 2, 3]);
  assert.equal(forward.uidnext, 5);
});

test("an op's MODSEQ is at least the floor of its row's time, so a late op cannot lower later ones", () => {
  const s = emptyUidIndex(100);
  const at2026 = timestampAt(Date.UTC(2026, 0, 1));
  applyUidOp(s, { t: "add", id: "a", guessUid: 1, flags: [] }, at2026);
  const first = s.byId.get("a")!.modseq;
  assert.equal(first, modseqFloor(at2026));
  assert.ok(first > 2 ** 40 && first < Number.MAX_SAFE_INTEGER);
  applyUidOp(s, { t: "add", id: "b", guessUid: 2, flags: [] }, timestampAt(Date.UTC(2025, 0, 1))); // late
  assert.equal(s.byId.get("b")!.modseq, first + 1);
});

test("a flag op gives every message it names one MODSEQ, changed or not (a late op may reorder them)", () => {
  const s = replay([
    { t: "add", id: "a", guessUid: 1, flags: ["\\Seen"] },
    { t: "add", id: "b", guessUid: 2, flags: [] },
  ]);
  const before = s.highestModseq;
  applyUidOp(s, { t: "flags", ids: ["a"], mode: "add", flags: ["\\SEEN"] });
  assert.equal(s.highestModseq, before + 1);
  assert.deepEqual(s.byId.get("a")!.flags, ["\\Seen"]);
  applyUidOp(s, { t: "flags", ids: ["a", "b"], mode: "add", flags: ["\\Flagged"] });
  assert.equal(s.highestModseq, before + 2);
  assert.equal(s.byId.get("a")!.modseq, s.byId.get("b")!.modseq);
  // A flag op naming only expunged messages changes nothing.
  applyUidOp(s, { t: "flags", ids: ["zz"], mode: "add", flags: ["\\Seen"] });
  assert.equal(s.highestModseq, before + 2);
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

test("a late op's changes below the HIGHESTMODSEQ shown are found, and a touch lifts them above it", () => {
  const at = (ms: number) => timestampAt(Date.UTC(2026, 0, 1) + ms);
  const ops: [UidOp, string][] = [
    [{ t: "add", id: "a", guessUid: 1, flags: [] }, at(0)],
    [{ t: "add", id: "late", guessUid: 2, flags: [] }, at(10)], // reaches this computer last
    [{ t: "add", id: "b", guessUid: 2, flags: [] }, at(20)],
    [{ t: "flags", ids: ["a"], mode: "add", flags: ["\\Seen"] }, at(30)],
  ];
  const shown = emptyUidIndex(100);
  for (const [op, ts] of ops) if (op.t !== "add" || op.id !== "late") applyUidOp(shown, op, ts);
  const rebuilt = emptyUidIndex(100);
  for (const [op, ts] of ops) applyUidOp(rebuilt, op, ts);
  // UID 2 clashed: it vanished at the MODSEQ of b's add, below what `shown` reported.
  assert.deepEqual(rebuilt.uids, [1]);
  const late = lateChanges(shown, rebuilt);
  assert.deepEqual(late, { ids: [], uids: [2] });
  applyUidOp(rebuilt, { t: "touch", ...late }, at(40));
  assert.deepEqual(lateChanges(shown, rebuilt), { ids: [], uids: [] });
  assert.ok(rebuilt.vanished.at(-1)!.modseq > shown.highestModseq);
  assert.equal(rebuilt.vanished.filter((v) => v.uid === 2).length, 1, "one VANISHED record per UID");
});

test("flag lists normalise alike every time, and a caller's change to one never reaches the next", () => {
  const first = normalizeFlags(["$Work", "\\SEEN", "\\Recent", "$work"]);
  assert.deepEqual(first, ["$Work", "\\Seen"]);
  first.push("\\Deleted"); // the answer is the caller's own array
  assert.deepEqual(normalizeFlags(["$Work", "\\SEEN", "\\Recent", "$work"]), ["$Work", "\\Seen"]);
  assert.deepEqual(normalizeFlags(["\\flagged", "\\Answered"]), ["\\Answered", "\\Flagged"]);
  assert.deepEqual(normalizeFlags([]), []);
});

test("a claim below the highest UID still finds its holder (the search past the last one is skipped only above it)", () => {
  const s = replay([
    { t: "add", id: "a", guessUid: 1, flags: [] },
    { t: "add", id: "b", guessUid: 5, flags: [] },
    { t: "add", id: "c", guessUid: 3, flags: [] },
    { t: "add", id: "d", guessUid: 5, flags: [] }, // clashes with b: 5 is burned, both get fresh UIDs
  ]);
  assert.equal(seqOfUid(s, 1), 1);
  assert.equal(seqOfUid(s, 3), 2);
  assert.equal(seqOfUid(s, 5), 0);
  assert.equal(seqOfUid(s, 6), 0);
});
