import { randomBytes } from "node:crypto";
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyUidOp, emptyUidIndex, type UidIndex, type UidOp } from "../../src/mail/uidIndex.ts";
import { decodeUidIndex, encodeUidIndex } from "../../src/mail/uidIndexCodec.ts";
import { timestampAt } from "../../src/sync/index.ts";
import { uidIndexContents } from "../support/uidIndexContents.ts";

function replay(ops: UidOp[], validity = 100): UidIndex {
  return ops.reduce((s, op) => applyUidOp(s, op), emptyUidIndex(validity));
}

const sample = () =>
  replay(
    [
      { t: "add", id: "a", guessUid: 1, flags: ["\\Seen"] },
      { t: "add", id: "b", guessUid: 2, flags: [] },
      { t: "add", id: "c", guessUid: 3, flags: ["\\Seen", "$Label1", "Ünïcode"] },
      { t: "add", id: "d", guessUid: 7, flags: ["\\Seen"] },
      { t: "add", id: "e", guessUid: 3, flags: ["\\Seen"] }, // a clash with "c": both unplaced
      { t: "expunge", ids: ["a"] },
      { t: "flags", ids: ["b"], mode: "add", flags: ["\\Flagged"] },
      { t: "expunge", ids: ["b"] },
    ],
    4_000_000_000,
  );

test("encoding 4 keeps the whole state, unplaced messages and save dates included", () => {
  const s = sample();
  assert.equal(s.unplaced.size, 2);
  // An add applied with its row's timestamp records the save date (RFC 8514).
  applyUidOp(s, { t: "add", id: "f", guessUid: 9, flags: [] }, timestampAt(Date.UTC(2026, 0, 2, 3, 4, 5)));
  assert.equal(s.byId.get("f")!.saved, Date.UTC(2026, 0, 2, 3, 4, 5));
  const bytes = encodeUidIndex(s);
  assert.equal(bytes[0], 4);
  assert.deepEqual(uidIndexContents(decodeUidIndex(bytes)), uidIndexContents(s));
});

test("encoding 3 (no save dates: earlier builds) still reads, its messages without a save date", () => {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  const u48 = (n: number) => Buffer.concat([u16(0), u32(n)]);
  const u56 = (n: number) => Buffer.concat([Buffer.from([0]), u48(n)]);
  const text = (t: string) => Buffer.concat([u16(Buffer.byteLength(t)), Buffer.from(t)]);
  const v3 = Buffer.concat([
    Buffer.from([3]),
    u48(77), // uidvalidity
    u48(6), // uidnext
    u56(9), // highestModseq
    u16(1), // flag lists
    u16(0),
    u32(1), // messages
    text("a"),
    u32(1),
    u56(2),
    u16(0),
    u32(1), // unplaced
    text("u"),
    u32(5),
    u56(8),
    u16(0),
    u32(0), // vanished
  ]);
  const s = decodeUidIndex(v3);
  assert.deepEqual(s.byId.get("a"), { id: "a", uid: 1, modseq: 2, flags: [] });
  assert.deepEqual(s.unplaced.get("u"), { id: "u", uid: 5, modseq: 8, flags: [] });
});

test("encoding 2 (no unplaced messages, 6-byte MODSEQs: earlier builds) still reads", () => {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  const u48 = (n: number) => Buffer.concat([u16(0), u32(n)]);
  const text = (t: string) => Buffer.concat([u16(Buffer.byteLength(t)), Buffer.from(t)]);
  const v2 = Buffer.concat([
    Buffer.from([2]),
    u48(77), // uidvalidity
    u48(6), // uidnext
    u48(9), // highestModseq
    u16(2), // flag lists
    u16(1),
    text("\\Seen"),
    u16(0),
    u32(2), // messages
    text("a"),
    u32(1),
    u48(2),
    u16(0),
    text("b"),
    u32(3),
    u48(8),
    u16(1),
    u32(1), // vanished
    u32(2),
    u48(9),
  ]);
  const s = decodeUidIndex(v2);
  assert.equal(s.uidvalidity, 77);
  assert.equal(s.uidnext, 6);
  assert.equal(s.highestModseq, 9);
  assert.deepEqual(s.uids, [1, 3]);
  assert.deepEqual(s.byId.get("a"), { id: "a", uid: 1, modseq: 2, flags: ["\\Seen"] });
  assert.deepEqual(s.byId.get("b"), { id: "b", uid: 3, modseq: 8, flags: [] });
  assert.deepEqual(s.vanished, [{ uid: 2, modseq: 9 }]);
  assert.deepEqual([...s.vanishedUids], [2]);
  assert.equal(s.unplaced.size, 0);
});

test("an empty mailbox and one with 10,000 messages round-trip", () => {
  assert.deepEqual(
    uidIndexContents(decodeUidIndex(encodeUidIndex(emptyUidIndex(1)))),
    uidIndexContents(emptyUidIndex(1)),
  );
  const s = emptyUidIndex(5);
  for (let i = 1; i <= 10_000; i++) {
    applyUidOp(s, { t: "add", id: `m${i}`, guessUid: i, flags: i % 3 ? ["\\Seen"] : [] });
  }
  applyUidOp(s, { t: "flags", ids: ["m10", "m20"], mode: "set", flags: ["\\Answered"] });
  const round = decodeUidIndex(encodeUidIndex(s));
  assert.deepEqual(uidIndexContents(round), uidIndexContents(s));
  assert.equal(round.byUid.get(1)!.flags, round.byUid.get(2)!.flags, "equal flag lists are one shared array");
});

test("encoding 1 (JSON, written by earlier builds) still reads", () => {
  const v1 = JSON.stringify({
    v: 1,
    uidvalidity: 9,
    uidnext: 4,
    highestModseq: 6,
    mails: [
      ["x", 1, 2, ["\\Seen"]],
      ["z", 3, 6, []],
    ],
    vanished: [2, 5],
  });
  const s = decodeUidIndex(new TextEncoder().encode(v1));
  assert.equal(s.uidvalidity, 9);
  assert.equal(s.uidnext, 4);
  assert.equal(s.highestModseq, 6);
  assert.deepEqual(s.uids, [1, 3]);
  assert.deepEqual(s.byId.get("x"), { id: "x", uid: 1, modseq: 2, flags: ["\\Seen"] });
  assert.equal(s.byUid.get(3)!.id, "z");
  assert.deepEqual(s.vanished, [{ uid: 2, modseq: 5 }]);
});

test("cut, padded or unknown encodings are refused with a clear error", () => {
  const bytes = Buffer.from(encodeUidIndex(sample()));
  for (const cut of [1, 10, 30, bytes.length - 1]) {
    assert.throws(() => decodeUidIndex(bytes.subarray(0, cut)), /cut short|past its end|flag list/);
  }
  assert.throws(() => decodeUidIndex(Buffer.concat([bytes, Buffer.from([0])])), /past its end/);
  assert.throws(() => decodeUidIndex(Buffer.from([9, 0, 0])), /unknown UidIndex encoding 9/);
});

test("ids of 32 hex digits (every real message's) are written as their text, beside other ids", () => {
  const s = emptyUidIndex(6);
  const ids = [
    "0123456789abcdef0123456789abcdef",
    "f".repeat(32),
    "0".repeat(32),
    "A".repeat(32),
    "ünï-id",
    "x",
  ];
  for (let i = 0; i < 300; i++) ids.push(randomBytes(16).toString("hex"));
  ids.forEach((id, i) => applyUidOp(s, { t: "add", id, guessUid: i + 1, flags: [] }));
  const bytes = Buffer.from(encodeUidIndex(s));
  for (const id of ids) assert.ok(bytes.includes(Buffer.from(id, "utf8")), id);
  const round = decodeUidIndex(bytes);
  assert.deepEqual(uidIndexContents(round), uidIndexContents(s));
  assert.deepEqual(
    ids.map((id) => round.byId.get(id)?.uid),
    ids.map((_, i) => i + 1),
  );
});
