/**
 * Local snapshots of a Bayou state (sync/localSnapshot.ts): the first sync of a run starts from the
 * snapshot when it still fits what storage holds, and decodes none of the rows it holds; when it
 * does not fit (a new checkpoint, a late row), the ordinary replay gives the same state.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { randomKey } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { Bayou, type SnapshotKeeper, type StateMachine } from "../../src/sync/index.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/sync/localSnapshot.ts";
import { logMachine, replica } from "./bayouFixtures.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

function keeper(): SnapshotKeeper & { saved: Map<string, Uint8Array> } {
  const saved = new Map<string, Uint8Array>();
  return {
    saved,
    load: async (path) => saved.get(path),
    save: async (path, parts) => void saved.set(path, Uint8Array.from(Buffer.concat(parts))),
  };
}

/** A replica with snapshots whose machine counts the ops it decodes. */
function counted(store: Store, clock: () => number, snapshots: SnapshotKeeper) {
  const counter = { decoded: 0 };
  const machine: StateMachine<string[], string> = {
    ...logMachine,
    decodeOp: (b) => {
      counter.decoded++;
      return logMachine.decodeOp(b);
    },
  };
  const bayou = new Bayou({
    store,
    key,
    path: "index/test",
    machine,
    clock,
    elapsed: clock,
    checkpointEvery: 1000,
    safetyWindowMs: 1000,
    retentionMs: 5000,
    snapshots,
  });
  return { bayou, counter };
}

test("a snapshot round-trips, and garbage is no snapshot", () => {
  const s = { baseKey: "k", applied: ["a", "b"], state: new Uint8Array([1, 2, 3]) };
  assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), s);
  assert.equal(decodeSnapshot(new Uint8Array([0, 0, 0, 200, 1])), undefined);
  assert.equal(decodeSnapshot(new TextEncoder().encode("nonsense bytes")), undefined);
});

test("a first sync from a fitting snapshot decodes only the rows pushed since, and ends in the replay's state", async () => {
  const store = memoryStore();
  let now = 10_000_000;
  const writer = replica(store, () => now, { key });
  for (let i = 0; i < 30; i++) await writer.push([`a${i}`, `b${i}`]);
  const snapshots = keeper();
  const first = counted(store, () => now, snapshots);
  await first.bayou.sync();
  assert.equal(first.counter.decoded, 60, "without a snapshot every op is decoded");
  await first.bayou.flushSnapshot();
  assert.equal(snapshots.saved.size, 1);
  first.bayou.close();

  for (let i = 0; i < 3; i++) await writer.push([`c${i}`]);
  const second = counted(store, () => now, snapshots);
  await second.bayou.sync();
  assert.equal(second.counter.decoded, 3, "only the three rows pushed after the snapshot");
  assert.deepEqual(second.bayou.state, writer.state);

  // Rows the snapshot held are decoded when needed: a checkpoint that folds only some of them.
  now += 10_000;
  await writer.push(["late-enough"]);
  await writer.settle(); // its watch rewrite, which tells the others, may wait its interval
  await second.bayou.checkpoint();
  await second.bayou.sync();
  await writer.sync();
  assert.deepEqual(second.bayou.state, writer.state);
  const fresh = replica(store, () => now, { key });
  await fresh.sync();
  assert.deepEqual(fresh.state, writer.state);
});

test("a snapshot that no longer fits (a new checkpoint, a late row) is not used, and the state is the replay's", async () => {
  const store = memoryStore();
  let now = 20_000_000;
  const writer = replica(store, () => now, { key });
  const late = replica(store, () => 20_000_000, { key });
  for (let i = 0; i < 10; i++) {
    await writer.push([`w${i}`]);
    now += 10;
    if (i > 0) continue;
    // `late` knows the watch from here on and pushes without syncing first (the watch did not
    // move under its read-back): a computer whose clock is behind and whose view is one row old.
    await writer.settle();
    await late.sync();
  }
  const snapshots = keeper();
  const first = counted(store, () => now, snapshots);
  await first.bayou.sync();
  await first.bayou.flushSnapshot();
  first.bayou.close();

  await late.push(["late"]); // its ts sorts before rows the snapshot holds
  const second = counted(store, () => now, snapshots);
  await second.bayou.sync();
  assert.equal(second.counter.decoded, 11, "a late row: the snapshot is not used, every row is replayed");
  await writer.sync();
  assert.deepEqual(second.bayou.state, writer.state);
  await second.bayou.flushSnapshot();
  second.bayou.close();

  now += 10_000;
  await writer.checkpoint();
  const third = counted(store, () => now, snapshots);
  await third.bayou.sync();
  await writer.sync();
  assert.deepEqual(third.bayou.state, writer.state, "a new checkpoint: the replay from it");
});

test("a snapshot a sync calls for is saved after the sync resolves, once `idle` lets it (not on the caller's path)", async () => {
  const store = memoryStore();
  const now = 30_000_000;
  const writer = replica(store, () => now, { key });
  for (let i = 0; i < 12; i++) await writer.push([`a${i}`]);
  const snapshots = keeper();
  let letIdle: () => void = () => undefined;
  const idle = new Promise<void>((resolve) => (letIdle = resolve));
  const bayou = new Bayou({
    store,
    key,
    path: "index/test",
    machine: logMachine,
    clock: () => now,
    elapsed: () => now,
    checkpointEvery: 1000,
    snapshots,
    idle: () => idle,
  });
  await bayou.sync();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(snapshots.saved.size, 0, "saved before the client work was done");
  letIdle();
  for (let i = 0; i < 100 && snapshots.saved.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(snapshots.saved.size, 1, "not saved once idle");
  bayou.close();
});

test("a snapshot's save asks `idle` for a quiet longer than a client's gaps between commands, and a bound", async () => {
  const store = memoryStore();
  let now = 30_000_000;
  const writer = replica(store, () => now, { key });
  for (let i = 0; i < 12; i++) await writer.push([`a${i}`]);
  const snapshots = keeper();
  const asked: { quietMs: number | undefined; enough: (() => boolean) | undefined }[] = [];
  let letIdle: () => void = () => undefined;
  const idle = new Promise<void>((resolve) => (letIdle = resolve));
  const bayou = new Bayou({
    store,
    key,
    path: "index/test",
    machine: logMachine,
    clock: () => now,
    elapsed: () => now,
    checkpointEvery: 1000,
    snapshots,
    idle: (quietMs, enough) => {
      asked.push({ quietMs, enough });
      return idle;
    },
  });
  await bayou.sync();
  for (let i = 0; i < 100 && asked.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
  assert.equal(asked.length, 1);
  // A cold first sync's header chunks come a few ms apart, tens under load: 50 ms gaps let the
  // encode (40-170 ms at 10,000 messages) into the list.
  assert.ok((asked[0]!.quietMs ?? 0) >= 200, `asked for ${asked[0]!.quietMs} ms of quiet`);
  assert.equal(asked[0]!.enough?.(), false);
  now += 10_000;
  assert.equal(asked[0]!.enough?.(), true, "a client that never pauses still gets it saved");
  letIdle();
  for (let i = 0; i < 100 && snapshots.saved.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(snapshots.saved.size, 1);
  bayou.close();
});
