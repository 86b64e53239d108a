/**
 * What the search index's background pass reads (mail/search/unindexed.ts): the mailboxes'
 * messages the index lacks, found from the UidIndex's columns, the same as comparing every id
 * as a string, also when a mailbox changes while the index's files are walked.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { unindexed } from "../../src/mail/search/unindexed.ts";
import { appendEntry, applyUidOp, emptyUidIndex, type UidIndex } from "../../src/mail/uidIndex.ts";
import { seededBits } from "../support/seededBits.ts";

/** Seeded numbers in [0, 1). */
function seeded(seed: number): () => number {
  const bits = seededBits(seed);
  return () => Buffer.from(bits(4)).readUInt32BE(0) / 2 ** 32;
}

const hexId = (n: number) => n.toString(16).padStart(32, "0");

function mailbox(ids: string[], firstUid = 1): UidIndex {
  const index = emptyUidIndex(1);
  ids.forEach((id, i) => appendEntry(index, { id, uid: firstUid + i, modseq: 1, flags: [] }));
  return index;
}

/** The index's ids handed over in files of `perFile`, with a turn of the event loop between. */
function filesOf(ids: string[], perFile: number, between?: () => void) {
  return async (visit: (id: string) => void) => {
    for (let i = 0; i < ids.length; i += perFile) {
      await new Promise((r) => setImmediate(r));
      between?.();
      for (const id of ids.slice(i, i + perFile)) visit(id);
    }
  };
}

test("the messages the index lacks are those a comparison of every id as a string finds", async () => {
  const next = seeded(11);
  for (let round = 0; round < 20; round++) {
    const boxes = [0, 1, 2].map((b) =>
      Array.from({ length: Math.floor(next() * 300) }, (_, i) => hexId(b * 10_000 + i)),
    );
    // One id in two mailboxes (a MOVE under way), and an id that is not hex.
    if (boxes[0]!.length > 0) boxes[1]!.push(boxes[0]![0]!);
    boxes[2]!.push("not-a-hex-id");
    const every = boxes.flat();
    const indexed = every.filter(() => next() < 0.7);
    indexed.push(hexId(999_999)); // held by the index, in no mailbox (expunged)
    const skip = new Set(every.filter(() => next() < 0.05));
    const have = new Set(indexed);
    const expected = [...new Set(every.filter((id) => !have.has(id) && !skip.has(id)))];

    const got = await unindexed(
      boxes.map((ids) => mailbox(ids).shown),
      filesOf(indexed, 37),
      skip,
    );
    assert.deepEqual(got.missing, expected, `round ${round}`);
    assert.equal(got.total, every.length);
  }
});

test("a mailbox that changes while the index is walked: no message is marked for another", async () => {
  const ids = Array.from({ length: 200 }, (_, i) => hexId(i));
  const box = mailbox(ids);
  // The index holds the even ones; meanwhile the first 50 are expunged (every position shifts)
  // and a new message arrives at the end.
  const indexed = ids.filter((_, i) => i % 2 === 0);
  let changed = false;
  const got = await unindexed(
    [box.shown],
    filesOf(indexed, 20, () => {
      if (changed) return;
      changed = true;
      applyUidOp(box, { t: "expunge", ids: ids.slice(0, 50) });
      applyUidOp(box, { t: "add", id: hexId(5000), guessUid: 201, flags: [] });
    }),
    new Set(),
  );
  // Odd ones from 51 on; the expunged ones are gone, the new one comes at the next pass.
  assert.deepEqual(
    got.missing,
    ids.filter((_, i) => i % 2 === 1 && i >= 50),
  );
});
