import { before, test } from "node:test";
import assert from "node:assert/strict";
import { open, seal, sealedEpoch } from "../../src/crypto/aead.ts";
import { KeyEpochs } from "../../src/crypto/keyEpochs.ts";
import {
  addPassword,
  createKeyRoot,
  parseKeyRoot,
  rekeyKeyRoot,
  serializeKeyRoot,
  unlockKeyRoot,
  withoutPreviousEpochs,
} from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { AuthFailed, Conflict, Rekeyed, Tampered } from "../../src/errors.ts";

before(() => loadSodium());

const ctx = { purpose: "test", path: "a/b" };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (u: Uint8Array) => new TextDecoder().decode(u);

test("a rekeyed root opens with the same password, holds new keys and carries the old epoch", async () => {
  const { root: root0, keys: keys0 } = await createKeyRoot("pw", TEST_KDF);
  const { root: root1, keys: keys1 } = await rekeyKeyRoot(
    parseKeyRoot(serializeKeyRoot(root0)),
    "pw",
    TEST_KDF,
  );
  const parsed = parseKeyRoot(serializeKeyRoot(root1));
  assert.equal(parsed.epoch, 1);
  const opened = await unlockKeyRoot(parsed, "pw");
  assert.equal(opened.epoch, 1);
  assert.notDeepEqual(opened.masterKey, keys0.masterKey);
  assert.notDeepEqual(opened.publicKey, keys0.publicKey);
  assert.deepEqual(opened.masterKey, keys1.masterKey);
  assert.equal(opened.previous.length, 1);
  assert.deepEqual(opened.previous[0]!.masterKey, keys0.masterKey);
  assert.deepEqual(opened.previous[0]!.secretKey, keys0.secretKey);
  assert.deepEqual(opened.retiredPublicKeys, [Uint8Array.from(keys0.publicKey)]);
  assert.equal(opened.accountName, keys0.accountName, "local folders keep their name");

  // The old root and the old password still give only the old keys.
  const old = await unlockKeyRoot(parseKeyRoot(serializeKeyRoot(root0)), "pw");
  assert.deepEqual(old.masterKey, keys0.masterKey);

  // Done: the previous epoch is dropped; the new keys stay.
  const done = parseKeyRoot(serializeKeyRoot(withoutPreviousEpochs(parsed, opened)));
  const after = await unlockKeyRoot(done, "pw");
  assert.deepEqual(after.previous, []);
  assert.deepEqual(after.masterKey, keys1.masterKey);
  assert.deepEqual(after.retiredPublicKeys, [Uint8Array.from(keys0.publicKey)]);
});

test("a rekey keeps only the password it was given, and refuses while one is unfinished", async () => {
  const { root, keys } = await createKeyRoot("first", TEST_KDF);
  const two = await addPassword(root, keys, "second", TEST_KDF);
  const { root: rekeyed } = await rekeyKeyRoot(two, "second", TEST_KDF);
  assert.equal(rekeyed.entries.length, 1);
  await assert.rejects(unlockKeyRoot(rekeyed, "first"), AuthFailed);
  await assert.rejects(rekeyKeyRoot(rekeyed, "second", TEST_KDF), Conflict);
});

test("the epoch in clear and the carried keys are bound to the entries", async () => {
  const { root } = await createKeyRoot("pw", TEST_KDF);
  const { root: r1 } = await rekeyKeyRoot(root, "pw", TEST_KDF);
  const json = JSON.parse(text(serializeKeyRoot(r1))) as Record<string, unknown>;
  const bumped = bytes(JSON.stringify({ ...json, epoch: 7 }));
  await assert.rejects(unlockKeyRoot(parseKeyRoot(bumped), "pw"), Tampered);
  const { root: other } = await rekeyKeyRoot((await createKeyRoot("pw", TEST_KDF)).root, "pw", TEST_KDF);
  await assert.rejects(unlockKeyRoot({ ...r1, carried: other.carried! }, "pw"), Tampered);
  const { carried: _dropped, ...withoutCarried } = json;
  assert.throws(() => parseKeyRoot(bytes(JSON.stringify(withoutCarried))), Tampered);
});

test("objects name their epoch: rings seal under the current one and open every held one", async () => {
  const { root, keys: keys0 } = await createKeyRoot("pw", TEST_KDF);
  const epochs = new KeyEpochs(keys0);
  const ring = epochs.ring("p");
  const old = seal(ring, bytes("old"), ctx);
  assert.equal(old[0], 2, "epoch 0 keeps sealed version 2 and its sizes");
  assert.equal(sealedEpoch(old), 0);

  const { keys: keys1 } = await rekeyKeyRoot(root, "pw", TEST_KDF);
  epochs.advance(keys1);
  const fresh = seal(ring, bytes("new"), ctx);
  assert.equal(fresh[0], 3);
  assert.equal(sealedEpoch(fresh), 1);
  assert.equal(fresh.length, old.length + 4);
  assert.equal(text(open(ring, old, ctx)), "old");
  assert.equal(text(open(ring, fresh, ctx)), "new");

  // The epoch is authenticated: naming another epoch does not open.
  const renamed = Uint8Array.from(fresh);
  renamed[4] = 0; // epoch 1 -> 0 is refused outright; 1 -> 2 is a later epoch
  assert.throws(() => open(ring, renamed, ctx), Tampered);

  epochs.dropPrevious();
  assert.throws(() => open(ring, old, ctx), Tampered);
  assert.equal(text(open(ring, fresh, ctx)), "new");
});

test("a computer that meets a later epoch stops sealing under its own", async () => {
  const { root, keys: keys0 } = await createKeyRoot("pw", TEST_KDF);
  const { keys: keys1 } = await rekeyKeyRoot(root, "pw", TEST_KDF);
  const here = new KeyEpochs(keys1);
  const stale = new KeyEpochs(keys0);
  const fresh = seal(here.ring("p"), bytes("x"), ctx);
  seal(stale.ring("p"), bytes("still fine"), ctx);
  assert.throws(() => open(stale.ring("p"), fresh, ctx), Rekeyed);
  assert.equal(stale.supersededBy, 1);
  assert.throws(() => seal(stale.ring("q"), bytes("y"), ctx), Rekeyed);
});
