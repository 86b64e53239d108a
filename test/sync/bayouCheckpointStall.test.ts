/**
 * Issue 18: under load every session stopped getting answers for seconds at a time. A checkpoint
 * (tried after a push once enough rows are unfolded) ran inside the queue every push and sync
 * waits in, so its reads, its blob put, its marks and its clean-up held up every session of the
 * mailbox. Here the checkpoint's put is held back for as long as the test likes: pushes and syncs
 * must still be answered, and the checkpoint must land once the put does.
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

/** A store whose checkpoint puts wait until `release()` (a slow disk, a slow Garage). */
function slowCheckpointStore(): { store: Store; puts: () => number; release: () => void } {
  const inner = memoryStore();
  let puts = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const blobs = Object.create(inner.blobs) as Store["blobs"];
  blobs.put = async (k, value) => {
    if (k.includes("/checkpoint/")) {
      puts += 1;
      await gate;
    }
    return inner.blobs.put(k, value);
  };
  return { store: { ...inner, blobs }, puts: () => puts, release };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
    }),
  ]);
}

test("pushes and syncs are answered while a checkpoint's put is held back", async () => {
  const { store, puts, release } = slowCheckpointStore();
  let now = 20_000_000;
  const a = replica(store, () => now, { key, checkpointEvery: 3, safetyWindowMs: 1_000 });
  for (let i = 0; i < 3; i++) await a.push([`old${i}`]);
  now += 5_000; // the three rows are past the safety window: the next push starts a checkpoint
  await within(a.push(["trigger"]), 1_000, "the push that starts a checkpoint");
  // Let the checkpoint reach its put (it reads in the queue first).
  for (let i = 0; i < 50 && puts() === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(puts(), 1, "the checkpoint is waiting in its put");
  for (let i = 0; i < 5; i++) await within(a.push([`new${i}`]), 1_000, `push ${i} during the checkpoint`);
  await within(a.sync(), 1_000, "a sync during the checkpoint");
  const other = replica(store, () => now, { key });
  await within(other.sync(), 1_000, "another replica's sync during the checkpoint");
  const expected = ["old0", "old1", "old2", "trigger", "new0", "new1", "new2", "new3", "new4"];
  assert.deepEqual(a.state, expected);
  assert.deepEqual(other.state, expected);

  release();
  await a.checkpointsSettled();
  assert.equal((await store.blobs.list("index/test/checkpoint/")).keys.length, 1, "the checkpoint landed");
  await a.push(["after"]);
  const fresh = replica(store, () => now, { key });
  await fresh.sync();
  assert.deepEqual(fresh.state, [...expected, "after"], "a replica starting from the checkpoint agrees");
  assert.deepEqual(a.state, fresh.state);
});

test("a push right after a checkpoint is adopted does not wait for the watch rewrite that announces it", async () => {
  const inner = memoryStore();
  let holdWatch = false;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.insert = async (pk, sk, value, token) => {
    if (holdWatch && sk === "watch") await gate; // a slow host, for this row alone
    return inner.rows.insert(pk, sk, value, token);
  };
  const store: Store = { ...inner, rows };
  let now = 21_000_000;
  const a = replica(store, () => now, { key, checkpointEvery: 3, safetyWindowMs: 1_000 });
  for (let i = 0; i < 3; i++) await a.push([`old${i}`]);
  await a.settle();
  now += 5_000;
  holdWatch = true;
  await within(a.push(["trigger"]), 1_000, "the push that starts a checkpoint");
  for (let i = 0; i < 100; i++) {
    if ((await inner.blobs.list("index/test/checkpoint/")).keys.length > 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal((await inner.blobs.list("index/test/checkpoint/")).keys.length, 1, "the checkpoint is stored");
  await new Promise((r) => setTimeout(r, 50)); // its adoption, in the queue
  await within(a.push(["next"]), 1_000, "a push after the checkpoint's adoption");
  assert.deepEqual(a.state, ["old0", "old1", "old2", "trigger", "next"]);
  release();
  await a.checkpointsSettled();
  await a.settle();
  const fresh = replica(inner, () => now, { key });
  await fresh.sync();
  assert.deepEqual(fresh.state, a.state);
});

test("a sync is answered while a push's row is held back, and sees another computer's push", async () => {
  const inner = memoryStore();
  let release!: () => void;
  let holding = false;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.insert = async (pk, sk, value, token) => {
    if (holding && sk !== "watch") await gate;
    return inner.rows.insert(pk, sk, value, token);
  };
  const store: Store = { ...inner, rows };
  let now = 20_000_000;
  const a = replica(store, () => now, { key });
  const b = replica(inner, () => now, { key });
  await a.push(["first"]);
  await a.settle();
  await a.sync(); // knows the watch as it is: its next sync is one read
  await b.sync();
  holding = true;
  const held = a.push(["held"]);
  // NOOP and SELECT wait for no write in flight (issue 18).
  assert.equal(await within(a.sync(), 1_000, "a sync beside a held push"), false);
  now += 10;
  await b.push(["from b"]);
  await b.settle();
  // Another computer moved the watch: this sync reads, and so waits for the push in the queue.
  const synced = a.sync();
  release();
  await within(Promise.all([held, synced]), 2_000, "the push and the sync once released");
  assert.ok(a.state.includes("from b") && a.state.includes("held"), JSON.stringify(a.state));
});
