/**
 * Issue 12: a storage host that drops op rows, hides the newest checkpoint or restores an older
 * copy of the store is refused by a computer that saw newer (Bayou rule 6), in the same run and
 * after a restart, and nothing is written over it; Bayou's own deletions (clean-up of folded rows,
 * a destroyed state) are not taken for an attack.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey, seal } from "../../src/crypto/aead.ts";
import { RolledBack } from "../../src/errors.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { checkpointContext, openCheckpoint, sealedHash } from "../../src/sync/checkpoint.ts";
import { maliciousHost } from "../support/maliciousHost.ts";
import { logMachine, MemoryWitness, opRowCount, replica as makeReplica } from "./bayouFixtures.ts";

const PATH = "index/test";
let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

const replica = (store: Store, clock: () => number, witness?: MemoryWitness) =>
  makeReplica(store, clock, { key, ...(witness ? { witness } : {}) });

async function opRows(store: Store): Promise<string[]> {
  return (await store.rows.readRange(PATH, { end: "g" })).items.map((i) => i.sk);
}

async function checkpoints(store: Store): Promise<string[]> {
  return (await store.blobs.list(`${PATH}/checkpoint/`)).keys;
}

test("an op row dropped before any checkpoint folded it is refused, in this run and after a restart, and nothing is written over it", async () => {
  const host = maliciousHost(memoryStore());
  let now = 1_000_000;
  const witness = new MemoryWitness();
  const a = replica(host.store, () => now, witness);
  for (const op of ["a1", "a2", "a3"]) {
    await a.push([op]);
    now += 10;
  }
  const [, dropped] = await opRows(host.store);
  await host.dropRow(PATH, dropped!);
  // A sync reads the rows again once the watch row moves (any computer's push moves it).
  await host.store.rows.insert(PATH, "watch", new Uint8Array([1]));

  await assert.rejects(a.sync(), (err: Error) => {
    assert.ok(err instanceof RolledBack);
    assert.match(
      err.message,
      /storage went back at index\/test: op row [0-9a-f]+ vanished without a checkpoint folding it/,
    );
    return true;
  });
  assert.deepEqual(a.state, ["a1", "a2", "a3"], "the state stays as it was");
  const writes = host.writes;
  await assert.rejects(a.push(["a4"]), RolledBack);
  await assert.rejects(a.checkpoint(), RolledBack);
  assert.equal(host.writes, writes, "no push, checkpoint or clean-up on top of it");

  // The same computer after a restart: its marks say what it saw.
  const restarted = replica(host.store, () => now, witness);
  await assert.rejects(restarted.sync(), RolledBack);
  assert.equal(witness.refusals.length, 4, "each refused read is reported");
  // What a computer with no marks sees (docs/crypto.md): the op is silently gone.
  const fresh = replica(host.store, () => now);
  await fresh.sync();
  assert.deepEqual(fresh.state, ["a1", "a3"]);
});

test("hiding the newest checkpoint is refused", async () => {
  const host = maliciousHost(memoryStore());
  let now = 2_000_000;
  const witness = new MemoryWitness();
  const a = replica(host.store, () => now, witness);
  await a.push(["a1"]);
  now += 5_000;
  await a.checkpoint();
  await a.push(["a2"]);
  now += 5_000;
  await a.checkpoint();
  const keys = await checkpoints(host.store);
  assert.equal(keys.length, 2);
  host.hideBlob(keys[1]!);
  const restarted = replica(host.store, () => now, witness);
  await assert.rejects(restarted.sync(), /its newest checkpoint is .* older than .* that this computer saw/);
  // A running computer reads again when the watch row moves (here: a computer with no marks, which
  // cannot tell, pushes); until then it keeps what it had, never the older state.
  await replica(host.store, () => now).push(["b1"]);
  await assert.rejects(a.sync(), RolledBack);
  assert.deepEqual(a.state, ["a1", "a2"]);
});

test("an older copy of the whole store is refused until the newer one is back, and then all works again", async () => {
  const host = maliciousHost(memoryStore());
  let now = 3_000_000;
  const witness = new MemoryWitness();
  const a = replica(host.store, () => now, witness);
  await a.push(["a1"]);
  now += 5_000;
  await a.checkpoint();
  const old = await host.snapshot();
  await a.push(["a2"]);
  now += 5_000;
  await a.checkpoint();
  await a.push(["a3"]);
  const current = await host.snapshot();

  await host.restore(old);
  const restarted = replica(host.store, () => now, witness);
  await assert.rejects(restarted.sync(), RolledBack);
  await assert.rejects(a.sync(), RolledBack);
  const writes = host.writes;
  await assert.rejects(a.push(["a4"]), RolledBack);
  assert.equal(host.writes, writes);

  await host.restore(current);
  await a.sync();
  await a.push(["a4"]);
  assert.deepEqual(a.state, ["a1", "a2", "a3", "a4"]);
  await restarted.sync();
  assert.deepEqual(restarted.state, a.state);
});

test("rows folded and cleaned up while a computer was away are no alarm, even once the checkpoints that folded them are gone", async () => {
  const store = memoryStore();
  let now = 4_000_000;
  const witness = new MemoryWitness();
  const away = replica(store, () => now, witness);
  const a = replica(store, () => now);
  await a.push(["a1"]);
  await a.push(["a2"]);
  await away.sync(); // sees a1 and a2 unfolded, then goes away
  for (let i = 0; i < 6; i++) {
    now += 6_000;
    await a.push([`b${i}`]);
    await a.checkpoint();
  }
  assert.equal(await opRowCount(store), 1, "folded rows were cleaned up");
  assert.equal((await checkpoints(store)).length, 3, "and so were older checkpoints");
  const restarted = replica(store, () => now, witness);
  await restarted.sync();
  await away.sync();
  assert.deepEqual(away.state, a.state);
  assert.deepEqual(restarted.state, a.state);
  assert.deepEqual(witness.refusals, []);
});

test("a row dropped behind the back of a newer checkpoint is found missing along the checkpoints' chain", async () => {
  const host = maliciousHost(memoryStore());
  let now = 5_000_000;
  const witness = new MemoryWitness();
  const a = replica(host.store, () => now);
  const b = replica(host.store, () => now, witness);
  await a.push(["a1"]);
  now += 10;
  await a.push(["a2"]);
  now += 10;
  await a.push(["a3"]);
  await b.sync();
  const [, dropped] = await opRows(host.store);
  await host.dropRow(PATH, dropped!);
  // Another computer never sees the dropped row and checkpoints past it, twice: the newest
  // checkpoint's upTo is above the dropped row, so only the chain can tell it was never folded.
  const c = replica(host.store, () => now);
  await c.sync();
  now += 5_000;
  await c.checkpoint();
  await c.push(["c1"]);
  now += 5_000;
  await c.checkpoint();
  await c.settle(); // its watch rewrites, which send b reading again
  const [first, second] = await checkpoints(host.store);
  const newest = openCheckpoint(key, second!, (await host.store.blobs.get(second!))!);
  assert.ok(newest.upTo > dropped!);
  assert.equal(newest.parent?.key, first);
  await assert.rejects(b.sync(), /vanished without a checkpoint folding it/);
  await assert.rejects(replica(host.store, () => now, witness).sync(), RolledBack);
});

test("each checkpoint names the hash of the one it builds on; a checkpoint written without the link still reads", async () => {
  const store = memoryStore();
  let now = 6_000_000;
  const a = replica(store, () => now);
  await a.push(["a1"]);
  now += 5_000;
  await a.checkpoint();
  await a.push(["a2"]);
  now += 5_000;
  await a.checkpoint();
  const [first, second] = await checkpoints(store);
  const firstSealed = (await store.blobs.get(first!))!;
  assert.equal(openCheckpoint(key, first!, firstSealed).parent, null);
  const link = openCheckpoint(key, second!, (await store.blobs.get(second!))!).parent;
  assert.deepEqual(link, { key: first, hash: sealedHash(firstSealed) });

  // A checkpoint as builds before the link wrote it: the header has no `parent`.
  const legacy = memoryStore();
  const [r1] = await opRows(store);
  const upTo = r1!;
  const legacyKey = `${PATH}/checkpoint/${upTo}-00000001abcd0123`;
  const head = new TextEncoder().encode(JSON.stringify({ upTo, gen: 1, folded: [] }));
  const body = logMachine.encodeState(["old"]);
  const plain = new Uint8Array(4 + head.length + body.length);
  new DataView(plain.buffer).setUint32(0, head.length);
  plain.set(head, 4);
  plain.set(body, 4 + head.length);
  await legacy.blobs.put(legacyKey, seal(key, plain, checkpointContext(legacyKey)));
  const witness = new MemoryWitness();
  const reader = replica(legacy, () => now, witness);
  await reader.sync();
  assert.deepEqual(reader.state, ["old"]);
  assert.equal(openCheckpoint(key, legacyKey, (await legacy.blobs.get(legacyKey))!).parent, undefined);
  await reader.push(["new"]);
  now += 5_000;
  await reader.checkpoint();
  await replica(legacy, () => now, witness).sync();
  assert.deepEqual(reader.state, ["old", "new"]);
  assert.deepEqual(witness.refusals, []);
});

test("a state destroyed on purpose (a deleted mailbox) may vanish; one that was not is refused", async () => {
  const store = memoryStore();
  const now = 7_000_000;
  const witness = new MemoryWitness();
  const reader = replica(store, () => now, witness);
  const owner = replica(store, () => now);
  await owner.push(["x"]);
  await reader.sync();
  await owner.destroy();
  await assert.rejects(reader.sync(), RolledBack, "nothing says it was destroyed on purpose");
  witness.retiredPaths.add(PATH);
  await reader.sync();
  assert.deepEqual(reader.state, []);
  assert.equal(witness.marks.has(PATH), false, "the mark of a destroyed state is dropped");
});
