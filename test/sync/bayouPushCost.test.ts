/**
 * Issue 18: under a steady load throughput fell by half over ten minutes. The op rows are kept for
 * the retention (10 min), and every push walked all of them twice: once to count the unfolded ones
 * (is a checkpoint due?) and once to find the newest ts. Four minutes into a load run that walk was
 * 10% of the server's CPU, and it grew until the first clean-up. Here the rows a push walks are
 * counted, not timed: a push must not walk the rows kept, and checkpoints must still come.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Bayou } from "../../src/sync/index.ts";
import { opRowCount, replica } from "./bayouFixtures.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

/** Counts the entries read from a replica's map of known rows, however it is walked. */
function countWalks(bayou: Bayou<string[], string>): { walked: () => number; size: () => number } {
  const known = (bayou as unknown as { known: Map<string, unknown> }).known;
  let walked = 0;
  const counted = <F extends () => Iterator<unknown>>(inner: F): F =>
    function* () {
      const it = inner();
      for (let r = it.next(); !r.done; r = it.next()) {
        walked += 1;
        yield r.value;
      }
    } as unknown as F;
  known.keys = counted(known.keys.bind(known));
  known.values = counted(known.values.bind(known));
  known.entries = counted(known.entries.bind(known));
  known[Symbol.iterator] = counted(known[Symbol.iterator].bind(known));
  return { walked: () => walked, size: () => known.size };
}

test("a push does not walk the rows kept for the retention, and checkpoints still come", async () => {
  const store = memoryStore();
  let now = Date.UTC(2026, 11, 5, 12);
  const clock = () => now;
  const b = replica(store, clock, {
    key,
    checkpointEvery: 100,
    safetyWindowMs: 60_000,
    retentionMs: 600_000,
  });
  await b.sync();
  const ROWS = 2000;
  for (let i = 0; i < ROWS; i++) {
    now += 10;
    await b.push([`op${i}`]);
  }
  // Past the safety window: the next push finds a checkpoint due, which folds every row so far.
  now += 61_000;
  await b.push(["op-fold"]);
  await b.checkpointsSettled();
  assert.ok((await opRowCount(store)) > ROWS, "rows are kept for the retention");

  const walks = countWalks(b);
  const kept = walks.size();
  const PUSHES = 300;
  for (let i = 0; i < PUSHES; i++) {
    now += 10; // 3 s in all: within half the safety window, no checkpoint is due again
    await b.push([`late${i}`]);
  }
  await b.checkpointsSettled();
  // Before the change: about 2 × kept rows per push (1.2 million here).
  assert.ok(
    walks.walked() <= kept,
    `${PUSHES} pushes walked ${walks.walked()} known rows (${kept} kept): at most one walk of them expected`,
  );
  assert.equal(b.state.length, ROWS + 1 + PUSHES);

  // Half a safety window later the next push looks again, and a checkpoint folds the new rows.
  now += 61_000;
  const foldedBefore = (b as unknown as { base: { folded: Set<string> } }).base.folded.size;
  await b.push(["op-fold-again"]);
  await b.checkpointsSettled();
  const foldedAfter = (b as unknown as { base: { folded: Set<string> } }).base.folded.size;
  assert.ok(foldedAfter >= foldedBefore + PUSHES, `checkpoint folded ${foldedAfter - foldedBefore} new rows`);
  assert.equal(b.state.length, ROWS + 2 + PUSHES);

  // Timestamps still go up past every row known.
  const rows = (await store.rows.readRange("index/test", { end: "g" })).items.map((r) => r.sk);
  assert.deepEqual([...rows].sort(), rows);
  assert.equal(new Set(rows).size, rows.length);
  b.close();
});

test("a burst of pushes younger than the safety window does not walk the rows at every push", async () => {
  const store = memoryStore();
  let now = Date.UTC(2026, 11, 5, 12);
  const clock = () => now;
  const b = replica(store, clock, { key, checkpointEvery: 100, safetyWindowMs: 60_000 });
  await b.sync();
  const walks = countWalks(b);
  const PUSHES = 400;
  for (let i = 0; i < PUSHES; i++) {
    now += 5; // 2 s in all: no row is older than the safety window, so no checkpoint is due
    await b.push([`op${i}`]);
  }
  await b.checkpointsSettled();
  // Before the change: every push from the 100th on walked every row twice (~150,000 here).
  assert.ok(
    walks.walked() <= 6 * PUSHES,
    `${PUSHES} pushes walked ${walks.walked()} known rows: a few looks of them expected`,
  );
  // Once rows pass the safety window, the next push finds the checkpoint due.
  now += 61_000;
  await b.push(["op-fold"]);
  await b.checkpointsSettled();
  const folded = (b as unknown as { base?: { folded: Set<string> } }).base?.folded.size ?? 0;
  assert.ok(folded >= PUSHES, `checkpoint folded ${folded} rows`);
  assert.equal(b.state.length, PUSHES + 1);
  b.close();
});
