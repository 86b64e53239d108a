import assert from "node:assert/strict";
import { before, test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { Bayou } from "../../src/sync/index.ts";
import { logMachine, replica } from "./bayouFixtures.ts";

// A checkpoint's plan (decode the base, apply the rows it folds, encode) is main-thread CPU: at
// 10,000 messages it ran inside a client's first sync. One found due waits for a lull in client work.

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

const checkpointCount = async (store: Store) =>
  (await store.blobs.list("index/test/checkpoint/")).keys.length;

async function settleTurns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 2));
}

/** Rows past the safety window, and a reader whose `idle` the test controls. */
async function dueReader(idle: (quietMs?: number, enough?: () => boolean) => Promise<void>) {
  const store = memoryStore();
  let now = 9_000_000;
  const writer = replica(store, () => now, { key });
  for (let i = 0; i < 12; i++) await writer.push([`w${i}`]);
  writer.close();
  now += 10_000;
  const reader = new Bayou({
    store,
    key,
    path: "index/test",
    machine: logMachine,
    clock: () => now,
    elapsed: () => now,
    checkpointEvery: 10,
    safetyWindowMs: 1000,
    checkpointAfterSync: true,
    idle,
  });
  return { store, reader, advance: (ms: number) => (now += ms) };
}

test("a checkpoint a sync finds due waits for a lull in client work, then is stored", async () => {
  let lull: () => void = () => {};
  const asked: (number | undefined)[] = [];
  const { store, reader } = await dueReader((quietMs) => {
    asked.push(quietMs);
    return new Promise<void>((resolve) => (lull = resolve));
  });
  assert.equal(await reader.sync(), true);
  assert.equal(reader.state.length, 12);
  await settleTurns();
  assert.equal(await checkpointCount(store), 0, "no checkpoint while the client works");
  assert.ok(asked.length >= 1 && asked[0]! >= 100, "a quiet longer than a client's turnaround is asked for");
  lull();
  await reader.checkpointsSettled();
  assert.equal(await checkpointCount(store), 1, "the checkpoint was stored at the lull");
  reader.close();
});

test("with no lull, the checkpoint runs once its wait's bound has passed", async () => {
  let polls = 0;
  let enoughSeen = false;
  const holder: { advance?: (ms: number) => number } = {};
  const { store, reader, advance } = await dueReader(async (_quietMs, enough) => {
    // A client that never pauses: poll until the caller says enough.
    for (; polls < 1000 && !enough?.(); polls++) {
      holder.advance?.(100);
      await new Promise((r) => setTimeout(r, 1));
    }
    enoughSeen = enough?.() ?? false;
  });
  holder.advance = advance;
  await reader.sync();
  await reader.checkpointsSettled();
  assert.ok(enoughSeen, "the wait ended on its bound, not on a lull");
  assert.ok(polls > 10 && polls < 1000, `bounded wait (${polls} polls of 100 ms)`);
  assert.equal(await checkpointCount(store), 1);
  reader.close();
});

test("a replica closed while its checkpoint waits for a lull makes no storage call after", async () => {
  const { store, reader } = await dueReader(async (_quietMs, enough) => {
    for (let i = 0; i < 1000 && !enough?.(); i++) await new Promise((r) => setTimeout(r, 1));
  });
  await reader.sync();
  await settleTurns(5);
  let calls = 0;
  const list = store.blobs.list.bind(store.blobs);
  const read = store.rows.read.bind(store.rows);
  store.blobs.list = (...args) => (calls++, list(...args));
  store.rows.read = (...args) => (calls++, read(...args));
  reader.close();
  await reader.checkpointsSettled();
  assert.equal(calls, 0, "the checkpoint gave up at the close");
  assert.equal(await checkpointCount(store), 0);
});
