import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import type { RangeQuery, Store } from "../../src/storage/types.ts";
import { Tampered, WrongContext } from "../../src/errors.ts";
import { holdingStore, logMachine, opRowCount, replica as makeReplica } from "./bayouFixtures.ts";
import { Bayou } from "../../src/sync/index.ts";

let key: Uint8Array;
const folders: string[] = [];
before(async () => {
  await loadSodium();
  key = randomKey();
});
after(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

const replica = (store: Store, clock: () => number, k = key) => makeReplica(store, clock, { key: k });

async function checkpointCount(store: Store): Promise<number> {
  return (await store.blobs.list("index/test/checkpoint/")).keys.length;
}

test("two replicas on one store see each other's pushes in timestamp order", async () => {
  const store = memoryStore();
  let now = 1_000_000;
  const a = replica(store, () => now);
  const b = replica(store, () => now);
  await a.push(["a1", "a2"]);
  now += 5;
  await b.push(["b1"]);
  await a.sync();
  assert.deepEqual(a.state, ["a1", "a2", "b1"]);
  assert.deepEqual(b.state, ["a1", "a2", "b1"]);
});

test("a checkpoint keeps the state; rows it folded go once the retention has passed; a fresh replica starts from it", async () => {
  const store = memoryStore();
  let now = 2_000_000;
  const a = replica(store, () => now);
  for (let i = 0; i < 30; i++) {
    await a.push([`op${i}`]);
    now += 100;
    if (i % 10 === 9) await a.checkpoint();
  }
  assert.ok((await opRowCount(store)) >= 25, "rows younger than the retention are kept");
  now += 10_000;
  await a.checkpoint();
  assert.equal(await opRowCount(store), 0, "every folded row known for longer than the retention is gone");
  assert.ok((await checkpointCount(store)) <= 3, "old checkpoints are cleaned up");
  const fresh = replica(store, () => now);
  await fresh.sync();
  assert.deepEqual(fresh.state, a.state);
  assert.deepEqual(
    fresh.state,
    Array.from({ length: 30 }, (_, i) => `op${i}`),
  );
});

test("a late op older than the newest checkpoint is still applied, by everyone alike, and survives clean-up", async () => {
  const store = memoryStore();
  let now = 3_000_000;
  const a = replica(store, () => now);
  const late = replica(store, () => 3_000_000); // a computer whose clock is stuck far behind
  await late.sync(); // ...and that last synced before anything was written
  await a.push(["a1"]);
  now += 10_000;
  await a.push(["a2"]);
  now += 10_000;
  await a.checkpoint();
  await late.push(["late"]); // its timestamp is older than the checkpoint's upTo
  await a.sync();
  assert.deepEqual(a.state, ["a1", "a2", "late"]);
  const fresh = replica(store, () => now);
  await fresh.sync();
  assert.deepEqual(fresh.state, a.state);
  // Two more rounds of checkpoint + clean-up, past the retention: the late op is folded, then its
  // row deleted, and nobody loses it or applies it twice.
  for (let i = 0; i < 2; i++) {
    now += 10_000;
    await a.checkpoint();
  }
  assert.equal(await opRowCount(store), 0);
  for (const r of [a, late, fresh, replica(store, () => now)]) {
    await r.sync();
    assert.deepEqual(r.state, ["a1", "a2", "late"]);
  }
});

test("a late op that lands after a checkpoint was built but before its put is kept and applied once", async () => {
  const inner = memoryStore();
  const slow = holdingStore(inner);
  let now = 5_000_000;
  const a = replica(inner, () => now);
  const b = replica(slow.store, () => now - 15_000); // slow to write, and its clock is behind
  await b.sync();
  await a.push(["a1"]);
  slow.hold();
  const landing = b.push(["b-late"]); // ts taken now, row lands later
  while (slow.waiting === 0) await new Promise((r) => setImmediate(r));
  now += 20_000;
  await a.push(["a2"]);
  await a.checkpoint(); // folds a1 only: b-late is not in storage yet
  await slow.release();
  await landing;
  now += 20_000;
  await a.checkpoint(); // folds b-late as a late op
  now += 20_000;
  await a.checkpoint();
  for (const r of [a, b, replica(inner, () => now)]) {
    await r.sync();
    assert.deepEqual([...r.state].sort(), ["a1", "a2", "b-late"]);
    assert.deepEqual(r.state, a.state);
  }
});

test("a checkpoint put by a writer that never saw a late row does not make that row disappear", async () => {
  const inner = memoryStore();
  const w = holdingStore(inner);
  let now = 7_000_000;
  const d = replica(inner, () => now);
  const writer = replica(w.store, () => now + 2000); // clock ahead: it folds more, so its checkpoint wins
  const late = replica(inner, () => now - 20_000);
  await late.sync();
  await d.push(["d1"]);
  now += 5000;
  await d.push(["d2"]);
  w.hold({ puts: true });
  const writing = writer.checkpoint(); // folds d1 and d2; its put is still travelling...
  while (w.waiting === 0) await new Promise((r) => setImmediate(r));
  await late.push(["x"]); // ...when a late row lands
  await d.checkpoint(); // folds d1 and x, and cleans up what it may
  await w.release();
  await writing;
  const keys = (await inner.blobs.list("index/test/checkpoint/")).keys;
  assert.equal(keys.length, 2);
  const fresh = replica(inner, () => now);
  await fresh.sync();
  assert.deepEqual([...fresh.state].sort(), ["d1", "d2", "x"]);
  for (const r of [d, writer, late]) {
    await r.sync();
    assert.deepEqual(r.state, fresh.state);
  }
});

test("a checkpoint writer that stalls past half the retention between its sync and its put writes nothing", async () => {
  const inner = memoryStore();
  const stalling = holdingStore(inner);
  let now = 6_000_000;
  const a = replica(inner, () => now);
  const b = replica(stalling.store, () => now);
  await a.push(["a1"]);
  now += 5_000;
  await b.sync();
  // Moves the watch: b's checkpoint must list every row again (with the watch where b left it, a
  // checkpoint reads no row at all).
  await a.push(["a2"]);
  stalling.hold({ ranges: true });
  const writing = b.checkpoint();
  while (stalling.waiting === 0) await new Promise((r) => setImmediate(r));
  now += 3_000; // more than half of the 5 s retention
  await stalling.release();
  await writing;
  assert.equal(await checkpointCount(inner), 0);
  await a.checkpoint();
  assert.equal(await checkpointCount(inner), 1, "a writer that is on time does write");
});

test("a replica that only reads still checkpoints and cleans up what others push", async () => {
  const store = memoryStore();
  let now = 8_000_000;
  const writer = makeReplica(store, () => now, { key, checkpointEvery: 100_000 });
  const reader = makeReplica(store, () => now, { key, checkpointEvery: 10 });
  for (let i = 0; i < 40; i++) {
    await writer.push([`w${i}`]);
    now += 500;
    await reader.sync();
  }
  assert.ok((await checkpointCount(store)) > 0, "the reader wrote checkpoints");
  now += 10_000;
  await reader.sync();
  assert.ok((await opRowCount(store)) < 20, `rows were cleaned up (${await opRowCount(store)} left)`);
  const fresh = replica(store, () => now);
  await fresh.sync();
  assert.deepEqual(
    fresh.state,
    Array.from({ length: 40 }, (_, i) => `w${i}`),
  );
  assert.deepEqual(reader.state, fresh.state);
});

test("op rows are sealed: another key cannot read them, and a moved row is WrongContext", async () => {
  const store = memoryStore();
  const a = replica(store, () => 4_000_000);
  await a.push(["secret"]);
  const stranger = replica(store, () => 4_000_000, randomKey());
  await assert.rejects(stranger.sync(), Tampered);
  const rows = await store.rows.readRange("index/test", { end: "g" });
  await store.rows.insert("index/test", "0".repeat(27) + "1", rows.items[0]!.values[0]!);
  await assert.rejects(replica(store, () => 4_000_000).sync(), WrongContext);
});

async function watchWakes(store: Store): Promise<number> {
  const a = replica(store, Date.now);
  const b = replica(store, Date.now);
  await b.sync();
  const t = Date.now();
  assert.equal(await b.waitForChange(150), false);
  assert.ok(Date.now() - t >= 140, "waits until its timeout when nothing is pushed");
  const waiting = b.waitForChange(5000);
  const pushed = Date.now();
  await a.push(["x"]);
  assert.equal(await waiting, true);
  const latency = Date.now() - pushed;
  assert.equal(await b.sync(), true);
  assert.deepEqual(b.state, ["x"]);
  // A push that landed while nobody was waiting is seen by the next wait at once.
  await a.push(["y"]);
  const t2 = Date.now();
  assert.equal(await b.waitForChange(5000), true);
  assert.ok(Date.now() - t2 < 1000);
  const aborter = new AbortController();
  await b.sync();
  const aborted = b.waitForChange(5000, aborter.signal);
  aborter.abort();
  assert.equal(await aborted, false);
  return latency;
}

test("a push wakes another replica's waitForChange within 1 s (memory store)", async () => {
  const latency = await watchWakes(memoryStore());
  assert.ok(latency < 1000, `woke after ${latency} ms`);
});

test("a push wakes another replica's waitForChange within 1 s (embedded store)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "agl-bayou-"));
  folders.push(dir);
  const store = await openEmbeddedStore(dir);
  try {
    const latency = await watchWakes(store);
    assert.ok(latency < 1000, `woke after ${latency} ms`);
  } finally {
    await store.close();
  }
});

test("a checkpoint that folds only the older rows keeps the newer ones applied after it, in order", async () => {
  const store = memoryStore();
  let now = 9_000_000;
  const decodes: string[][] = [];
  const counting = {
    ...logMachine,
    decodeState: (b: Uint8Array) => (decodes.push([]), logMachine.decodeState(b)),
  };
  const a = new Bayou({
    store,
    key,
    path: "index/test",
    machine: counting,
    clock: () => now,
    safetyWindowMs: 1000,
  });
  await a.push(["old1", "old2"]);
  now += 5_000;
  await a.push(["new1"]); // younger than the safety window at the checkpoint below
  await a.checkpoint();
  assert.equal(await checkpointCount(store), 1);
  assert.deepEqual(a.state, ["old1", "old2", "new1"]);
  await a.push(["new2"]);
  assert.deepEqual(a.state, ["old1", "old2", "new1", "new2"]);
  const fresh = replica(store, () => now);
  await fresh.sync();
  assert.deepEqual(fresh.state, a.state);

  // Everything old enough now: the checkpoint is the state as it stands, no decode of the base needed.
  now += 5_000;
  const before = decodes.length;
  await a.checkpoint();
  assert.equal(decodes.length, before, "folding every row encodes the current state");
  assert.deepEqual(a.state, ["old1", "old2", "new1", "new2"]);
  const second = replica(store, () => now);
  await second.sync();
  assert.deepEqual(second.state, a.state);
});

test("with every row folded and none past the retention, pushes do not read every row again", async () => {
  const inner = memoryStore();
  let ranges = 0;
  const rows = new Proxy(inner.rows, {
    get(target, name) {
      if (name === "readRange") {
        return (pk: string, query?: RangeQuery) => ((ranges += 1), target.readRange(pk, query));
      }
      const value: unknown = Reflect.get(target, name);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  const store: Store = { ...inner, rows };
  let now = 11_000_000;
  const opts = { key, checkpointEvery: 2, safetyWindowMs: 60_000, retentionMs: 600_000 };
  const a = makeReplica(store, () => now, opts);
  for (let i = 0; i < 6; i++) await a.push([`op${i}`]);
  now += 65_000;
  await a.checkpoint(); // folds all six; none may go before the retention
  const before = ranges;
  now += 1_000;
  await a.push(["late0"]);
  now += 40_000; // past the 30 s between checkpoint tries, still inside late0's safety window
  await a.push(["late1"]);
  await a.checkpointsSettled();
  assert.equal(ranges - before, 0, "nothing to fold or delete: no checkpoint read the rows");
  assert.deepEqual(a.state.slice(-2), ["late0", "late1"]);
  now += 700_000; // past the retention: the next push's try folds and cleans up
  await a.push(["last"]);
  await a.checkpointsSettled(); // the push started it in the background
  assert.equal(await opRowCount(store), 1, "a checkpoint with work to do folded and cleaned up");
  assert.deepEqual(a.state.slice(-3), ["late0", "late1", "last"]);
  const fresh = makeReplica(store, () => now, opts);
  await fresh.sync();
  assert.deepEqual(fresh.state, a.state);
});

test("rows the newest checkpoint folds are never decoded by a replica that starts from it", async () => {
  const store = memoryStore();
  let now = 13_000_000;
  let decoded = 0;
  const counting = { ...logMachine, decodeOp: (b: Uint8Array) => (decoded++, logMachine.decodeOp(b)) };
  const make = () =>
    new Bayou({ store, key, path: "index/test", machine: counting, clock: () => now, safetyWindowMs: 1000 });
  const a = make();
  for (let i = 0; i < 5; i++) await a.push([`op${i}`]);
  now += 5_000;
  await a.push(["young"]); // inside the safety window: stays an unfolded row
  await a.checkpoint();
  const before = decoded;
  const b = make();
  await b.sync();
  assert.deepEqual(b.state, ["op0", "op1", "op2", "op3", "op4", "young"]);
  assert.equal(decoded - before, 1, "only the unfolded row is decoded");
});

test("with checkpointAfterSync, a sync resolves before the checkpoint it calls for is stored", async () => {
  const inner = memoryStore();
  let now = 9_000_000;
  const writer = replica(inner, () => now);
  for (let i = 0; i < 12; i++) await writer.push([`w${i}`]);
  now += 10_000; // every row is past the safety window: a reader's sync calls for a checkpoint
  const held = holdingStore(inner);
  const reader = new Bayou({
    store: held.store,
    key,
    path: "index/test",
    machine: logMachine,
    clock: () => now,
    checkpointEvery: 10,
    safetyWindowMs: 1000,
    checkpointAfterSync: true,
  });
  held.hold({ puts: true });
  assert.equal(await reader.sync(), true);
  assert.equal(reader.state.length, 12, "the state is there before the checkpoint");
  for (let i = 0; i < 100 && held.waiting === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(held.waiting, 1, "the checkpoint's put came after the sync resolved");
  assert.equal(await checkpointCount(inner), 0);
  await held.release();
  await reader.sync(); // queued behind the checkpoint
  assert.equal(await checkpointCount(inner), 1, "the checkpoint was stored");
  reader.close();
});
