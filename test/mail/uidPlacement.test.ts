/**
 * Fresh claims for messages whose UID clashed (uidIndex.ts placementOps). Two computers that see
 * one clash usually renumber at once, often from UIDNEXTs one apart (one had applied an add the
 * other had not). Renumbering from UIDNEXT itself gave the same messages two blocks shifted by one:
 * every UID of the overlap named two messages and was burned, and all of them waited again
 * (uidClash.test.ts on Garage: messages renumbered up to four times, a QRESYNC client fetching
 * each once per UID).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyUidOp,
  emptyUidIndex,
  placementOps,
  PLACE_ALIGN,
  type UidIndex,
  type UidOp,
} from "../../src/mail/uidIndex.ts";

function replay(ops: UidOp[]): UidIndex {
  return ops.reduce((s, op) => applyUidOp(s, op), emptyUidIndex(100));
}

/** 21 messages, then two computers' adds guessing 22 and 23 alike: four messages wait. */
function clashed(): UidOp[] {
  const ops: UidOp[] = [];
  for (let uid = 1; uid <= 21; uid++) ops.push({ t: "add", id: `m${uid}`, guessUid: uid, flags: [] });
  ops.push({ t: "add", id: "a1", guessUid: 22, flags: [] }, { t: "add", id: "b1", guessUid: 22, flags: [] });
  ops.push({ t: "add", id: "a2", guessUid: 23, flags: [] }, { t: "add", id: "b2", guessUid: 23, flags: [] });
  return ops;
}

test("two computers placing the same messages from UIDNEXTs one apart claim the same UIDs", () => {
  const seen = clashed();
  const laptop = placementOps(replay(seen));
  // The desktop had also applied a third add of the laptop's, at 24, before it placed them.
  const late: UidOp = { t: "add", id: "a3", guessUid: 24, flags: [] };
  const desktop = placementOps(replay([...seen, late]));
  for (const order of [
    [...seen, late, ...laptop, ...desktop],
    [...seen, ...desktop, ...laptop, late],
    [...seen, ...laptop, late, ...desktop],
  ]) {
    const s = replay(order);
    for (const id of ["a1", "b1", "a2", "b2"]) {
      assert.ok(s.byId.has(id), `${id} is shown after one renumbering, whatever the order`);
    }
    // The laptop's burn covers 24, which it had not seen claimed: that one add waits (it was
    // guessed into the gap, as onto any burned UID), instead of four renumbered messages.
    assert.deepEqual([...s.unplaced.keys()], ["a3"]);
  }
});

test("fresh claims start at the aligned UID at or above UIDNEXT and the UIDs below it are burned", () => {
  const s = replay(clashed());
  assert.equal(s.uidnext, 24);
  const ops = placementOps(s);
  assert.deepEqual(ops[0], { t: "burn", from: 24, to: PLACE_ALIGN - 1 });
  assert.deepEqual(
    ops.slice(1).map((op) => (op.t === "renumber" ? [op.id, op.uid] : op.t)),
    [
      ["a1", PLACE_ALIGN],
      ["b1", PLACE_ALIGN + 1],
      ["a2", PLACE_ALIGN + 2],
      ["b2", PLACE_ALIGN + 3],
    ],
  );
  const placed = ops.reduce((state, op) => applyUidOp(state, op), s);
  assert.equal(placed.unplaced.size, 0);
  assert.equal(placed.uidnext, PLACE_ALIGN + 4);
  for (let uid = 24; uid < PLACE_ALIGN; uid++) assert.ok(placed.vanishedUids.has(uid), `UID ${uid} burned`);
  // An add guessed into the burned gap later (a computer that had not seen the burn) waits: a UID
  // shown later is never below one shown before.
  const after = applyUidOp(placed, { t: "add", id: "late", guessUid: 25, flags: [] });
  assert.ok(after.unplaced.has("late"));
  assert.ok(!after.byUid.has(25));
  // An aligned UIDNEXT burns nothing.
  assert.deepEqual(placementOps(replay([...clashed().slice(0, 21)])), []);
});

test("a burn and an add on the same UID end alike in either order", () => {
  const add: UidOp = { t: "add", id: "x", guessUid: 3, flags: [] };
  const burn: UidOp = { t: "burn", from: 2, to: 4 };
  const base: UidOp[] = [{ t: "add", id: "m1", guessUid: 1, flags: [] }];
  const one = replay([...base, add, burn]);
  const two = replay([...base, burn, add]);
  for (const s of [one, two]) {
    assert.deepEqual(s.uids, [1]);
    assert.deepEqual([...s.unplaced.keys()], ["x"]);
    assert.deepEqual(
      [...s.vanishedUids].sort((a, b) => a - b),
      [2, 3, 4],
    );
    assert.equal(s.uidnext, 5);
  }
  assert.throws(() => replay([{ t: "burn", from: 1, to: PLACE_ALIGN + 1 }]), /not one placementOps writes/);
});
