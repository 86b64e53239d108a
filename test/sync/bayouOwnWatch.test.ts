/**
 * Issue 18, at 50 clients on Garage: throughput fell from 135 to 25 commands/s within three
 * minutes and commands waited up to 7.9 s. Every push is followed by this process's own rewrite of
 * the watch row and a read-back that adopts its token (rule 3). A sync (every NOOP, SELECT, IDLE's
 * end) that read the watch between the rewrite and the read-back saw a token it did not know, took
 * it for another computer's push and listed every op row, the checkpoints and wrote a mark, in the
 * queue every push waits in; the rows kept for the retention made each listing longer than the
 * last. Here the read-back is held: a sync meanwhile must list no row, and still see what another
 * computer pushes.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { replica } from "./bayouFixtures.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

/**
 * A store that counts listings of op rows and, when armed, holds the first read of the watch row
 * after a rewrite of it (the pusher's read-back) until released.
 */
function heldReadBack() {
  const inner = memoryStore();
  let listings = 0;
  let armed = false;
  let afterRewrite = false;
  let held = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.readRange = (pk, query) => {
    listings += 1;
    return inner.rows.readRange(pk, query);
  };
  rows.insert = async (pk, sk, value, token) => {
    await inner.rows.insert(pk, sk, value, token);
    if (armed && sk === "watch") afterRewrite = true;
  };
  rows.read = async (pk, sk) => {
    if (sk === "watch" && afterRewrite) {
      afterRewrite = false;
      armed = false;
      held += 1;
      const value = await inner.rows.read(pk, sk);
      await gate;
      return value;
    }
    return inner.rows.read(pk, sk);
  };
  return {
    store: { ...inner, rows },
    listings: () => listings,
    held: () => held,
    arm: () => (armed = true),
    release,
  };
}

/**
 * Two pushes, each settled: the first rewrite reads the watch before writing it (nothing synced
 * yet); from the second on, a rewrite is followed by the read-back that adopts the watch's token.
 */
async function steady(r: ReturnType<typeof replica>, op: string): Promise<void> {
  await r.sync();
  for (const o of [op, `${op}'`]) {
    await r.push([o]);
    await r.settle();
  }
  await r.sync();
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(done(), what);
}

test("a sync during this process's own watch rewrite lists no row", async () => {
  const s = heldReadBack();
  const now = 20_000_000;
  const a = replica(s.store, () => now, { key });
  await steady(a, "one");
  const quiet = s.listings();
  assert.equal(await a.sync(), false);
  assert.equal(s.listings(), quiet, "a sync after the read-back lists no row");

  s.arm();
  await a.push(["two"]);
  await until("the read-back of the push's watch rewrite is held", () => s.held() === 1);
  const syncing = a.sync();
  setTimeout(() => s.release(), 50);
  assert.equal(await syncing, false, "nothing new: the change of the watch was this process's own");
  assert.equal(s.listings(), quiet, "the sync waited for the read-back instead of listing every row");
  assert.deepEqual(a.state, ["one", "one'", "two"]);
  await a.settle();
});

test("a sync during this process's watch rewrite still sees another computer's push", async () => {
  const s = heldReadBack();
  const now = 20_000_000;
  const a = replica(s.store, () => now, { key });
  const b = replica(s.store, () => now + 1, { key });
  await steady(a, "a1");
  await b.sync();

  s.arm();
  await a.push(["a2"]);
  await until("the read-back of a's watch rewrite is held", () => s.held() === 1);
  await b.push(["b1"]); // b rewrites the watch too (b's read-back is not held: the gate is spent)
  await b.settle();
  const syncing = a.sync();
  setTimeout(() => s.release(), 50);
  assert.equal(await syncing, true, "b's push is new to a");
  // a2 and b1 were written at once: their order is their ts order, the same on both computers.
  assert.deepEqual([...a.state].sort(), ["a1", "a1'", "a2", "b1"]);
  await b.sync();
  assert.deepEqual(b.state, a.state);
  await a.settle();
});

test("a checkpoint planned during this process's own watch rewrite lists no row", async () => {
  const s = heldReadBack();
  let now = 20_000_000;
  const a = replica(s.store, () => now, { key, checkpointEvery: 3, safetyWindowMs: 1_000 });
  await steady(a, "one");
  await a.push(["two"]);
  await a.settle();
  now += 5_000; // three rows past the safety window: the next push starts a checkpoint
  const quiet = s.listings();
  s.arm();
  await a.push(["three"]);
  await until("the read-back of the push's watch rewrite is held", () => s.held() === 1);
  setTimeout(() => s.release(), 50);
  await a.checkpointsSettled();
  assert.equal(s.listings(), quiet, "the checkpoint's plan waited for the read-back instead of listing");
  assert.equal((await s.store.blobs.list("index/test/checkpoint/")).keys.length, 1, "the checkpoint landed");
  const fresh = replica(s.store, () => now, { key });
  await fresh.sync();
  assert.deepEqual(fresh.state, ["one", "one'", "two", "three"]);
  assert.deepEqual(a.state, fresh.state);
  await a.settle();
});
