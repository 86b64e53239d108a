/**
 * A first sync's reads started before the replica exists (sync/firstReads.ts; at LOGIN, beside
 * Argon2id, for INBOX): the replica takes them instead of reading, in rule 2's order, and what
 * they give still goes through every check a first sync's own reads go through (rule 6: a host
 * that served an older state to them is refused).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { RolledBack } from "../../src/errors.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { Bayou, readFirstSync, type FirstReads } from "../../src/sync/index.ts";
import { logMachine, MemoryWitness, replica } from "./bayouFixtures.ts";
import { aroundStoreCalls } from "../support/storeCalls.ts";

const PATH = "index/test";
let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

/** The calls made through the store, in order, as "layer.method key". */
function recorded(inner: Store) {
  const calls: string[] = [];
  const store = aroundStoreCalls(inner, (layer, prop, args, call) => {
    calls.push(
      `${layer}.${prop} ${String(args[0])}${args[1] !== undefined && typeof args[1] === "string" ? `/${args[1]}` : ""}`,
    );
    return call();
  });
  return { store, calls };
}

function withReads(store: Store, now: () => number, firstReads: FirstReads, witness?: MemoryWitness) {
  return new Bayou({
    store,
    key,
    path: PATH,
    machine: logMachine,
    clock: now,
    elapsed: now,
    safetyWindowMs: 1000,
    retentionMs: 5000,
    checkpointEvery: 1000,
    firstReads,
    ...(witness ? { witness } : {}),
  });
}

test("reads started before the replica are its first sync's, in rule 2's order; it reads nothing itself", async () => {
  const raw = memoryStore();
  let now = 1_000_000;
  const writer = replica(raw, () => now, { key });
  for (let i = 0; i < 3; i++) await writer.push([`op${i}`]);
  now += 2_000;
  await writer.checkpoint();
  await writer.push(["op3"]);

  const early = recorded(raw);
  const reads = readFirstSync(early.store, PATH);
  await reads.listing;
  assert.deepEqual(
    early.calls.filter((c) => !c.startsWith("blobs.get")),
    [
      `blobs.list ${PATH}/checkpoint/`,
      `rows.read ${PATH}/watch`,
      `rows.readRange ${PATH}`,
      `blobs.list ${PATH}/checkpoint/`,
    ],
    "the early listing and the watch, then the rows, then the listing after the rows",
  );

  const own = recorded(raw);
  const fresh = withReads(own.store, () => now, reads);
  await fresh.sync();
  assert.deepEqual(fresh.state, ["op0", "op1", "op2", "op3"]);
  assert.deepEqual(
    own.calls.filter(
      (c) => c.includes(`${PATH}/watch`) || c.startsWith("rows.readRange") || c.startsWith("blobs.list"),
    ),
    [],
    "the replica made none of those reads again",
  );
});

test("reads of another path are ignored: the replica reads its own", async () => {
  const raw = memoryStore();
  const now = 2_000_000;
  const writer = replica(raw, () => now, { key });
  await writer.push(["mine"]);
  const other = new Bayou({ store: raw, key, path: "index/other", machine: logMachine, clock: () => now });
  await other.push(["not mine"]);
  const fresh = withReads(raw, () => now, readFirstSync(raw, "index/other"));
  await fresh.sync();
  assert.deepEqual(fresh.state, ["mine"]);
});

test("a host that served an older state to the reads started early is refused, as if the replica had read it", async () => {
  const raw = memoryStore();
  let now = 3_000_000;
  const witness = new MemoryWitness();
  const writer = replica(raw, () => now, { key, witness });
  await writer.push(["a1"]);
  await writer.push(["a2"]);
  // What the host serves to the early reads: the store as it was before a3 (a copy restored).
  const old = memoryStore();
  for (const row of (await raw.rows.readRange(PATH)).items)
    for (const v of row.values) await old.rows.insert(PATH, row.sk, v);
  now += 10;
  await writer.push(["a3"]);
  await writer.sync(); // this computer's mark now names a3
  await writer.settle();

  const stale = withReads(raw, () => now, readFirstSync(old, PATH), witness);
  await assert.rejects(stale.sync(), (err: Error) => {
    assert.ok(err instanceof RolledBack, String(err));
    assert.match(err.message, /vanished without a checkpoint folding it/);
    return true;
  });
  assert.deepEqual(stale.state, [], "nothing adopted");
  // The same computer reading storage itself (an honest host) syncs.
  const honest = replica(raw, () => now, { key, witness });
  await honest.sync();
  assert.deepEqual(honest.state, ["a1", "a2", "a3"]);
});
