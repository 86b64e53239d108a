import { before, test } from "node:test";
import assert from "node:assert/strict";
import { sealedEpoch } from "../../src/crypto/aead.ts";
import { KeyEpochs } from "../../src/crypto/keyEpochs.ts";
import { createKeyRoot, rekeyKeyRoot, unlockKeyRoot } from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { Rekeyed } from "../../src/errors.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { MemoryWitness, replica } from "./bayouFixtures.ts";

before(() => loadSodium());

async function sealedObjects(store: Store): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const row of (await store.rows.readRange("index/test", {})).items)
    if (row.sk !== "watch") out.push(...row.values);
  for (const key of (await store.blobs.list("index/test/checkpoint/")).keys)
    out.push((await store.blobs.get(key))!);
  return out;
}

test("reseal puts every op row and checkpoint under the new epoch; marks, state and other replicas agree", async () => {
  const store = memoryStore();
  let now = 5_000_000;
  const clock = () => now;
  const { root, keys: keys0 } = await createKeyRoot("pw", TEST_KDF);
  const epochs = new KeyEpochs(keys0);
  const opts = (witness: MemoryWitness, key = epochs.ring("uid-index")) => ({
    key,
    witness,
    safetyWindowMs: 1_000,
    retentionMs: 1_000_000,
    elapsed: clock,
  });
  const wa = new MemoryWitness();
  const wb = new MemoryWitness();
  const a = replica(store, clock, opts(wa));
  const b = replica(store, clock, opts(wb, new KeyEpochs(await unlockKeyRoot(root, "pw")).ring("uid-index")));
  for (let i = 0; i < 30; i++) {
    await a.push([`op${i}`]);
    now += 200;
    if (i % 10 === 9) await a.checkpoint();
  }
  await b.sync();
  const before = [...a.state];
  assert.ok((await store.blobs.list("index/test/checkpoint/")).keys.length >= 2);

  const { root: root1, keys: keys1 } = await rekeyKeyRoot(root, "pw", TEST_KDF);
  epochs.advance(keys1);
  const isCurrent = (s: Uint8Array) => sealedEpoch(s) === 1;
  assert.ok((await a.reseal(isCurrent)) > 0);
  for (const sealed of await sealedObjects(store)) assert.equal(sealedEpoch(sealed), 1);
  assert.equal(await a.reseal(isCurrent), 0, "a second pass finds nothing left");
  assert.deepEqual(a.state, before);

  // A computer that unlocked the new root: its marks of the old checkpoints raise no alarm.
  const bNew = replica(
    store,
    clock,
    opts(wb, new KeyEpochs(await unlockKeyRoot(root1, "pw")).ring("uid-index")),
  );
  await bNew.sync();
  assert.deepEqual(bNew.state, before);
  assert.deepEqual(wb.refusals, []);

  // Once the old epoch is dropped, a fresh replica still reads everything.
  const onlyNew = new KeyEpochs(await unlockKeyRoot(root1, "pw"));
  onlyNew.dropPrevious();
  const fresh = replica(store, clock, opts(new MemoryWitness(), onlyNew.ring("uid-index")));
  await fresh.sync();
  assert.deepEqual(fresh.state, before);

  // A computer still on the old keys learns of the new epoch and writes nothing more.
  await assert.rejects(b.sync(), Rekeyed);
  await assert.rejects(b.push(["stale"]), Rekeyed);
  await a.push(["after"]);
  await a.sync();
  assert.deepEqual(a.state, [...before, "after"]);
});
