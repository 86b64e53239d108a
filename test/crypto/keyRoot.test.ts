import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import {
  addPassword,
  changePassword,
  createKeyRoot,
  parseKeyRoot,
  removePassword,
  serializeKeyRoot,
  unlockKeyRoot,
} from "../../src/crypto/keyRoot.ts";
import { openSealedBox, sealToPublicKey } from "../../src/crypto/sealedBox.ts";
import { AuthFailed, Invalid, Tampered } from "../../src/errors.ts";

before(() => loadSodium());

test("a wrong password is AuthFailed; the right one gives the same keys after a round trip", async () => {
  const { root, keys } = await createKeyRoot("hunter2", TEST_KDF);
  const parsed = parseKeyRoot(serializeKeyRoot(root));
  await assert.rejects(unlockKeyRoot(parsed, "hunter3"), AuthFailed);
  const again = await unlockKeyRoot(parsed, "hunter2");
  assert.deepEqual(again.masterKey, keys.masterKey);
  assert.deepEqual(again.secretKey, keys.secretKey);
});

test("add, change and remove a password: only that entry changes, the master key never", async () => {
  const { root, keys } = await createKeyRoot("first", TEST_KDF);
  const two = await addPassword(root, keys, "second", TEST_KDF);
  assert.deepEqual(two.entries[0], root.entries[0]);
  const changed = await changePassword(two, "second", "third", TEST_KDF);
  assert.deepEqual(changed.entries[0], root.entries[0]);
  await assert.rejects(unlockKeyRoot(changed, "second"), AuthFailed);
  assert.deepEqual((await unlockKeyRoot(changed, "third")).masterKey, keys.masterKey);
  const removed = await removePassword(changed, "first");
  await assert.rejects(unlockKeyRoot(removed, "first"), AuthFailed);
  assert.deepEqual((await unlockKeyRoot(removed, "third")).masterKey, keys.masterKey);
  await assert.rejects(removePassword(removed, "third"), Invalid);
});

test("a tampered key root is Tampered, not garbage", async () => {
  const { root } = await createKeyRoot("pw", TEST_KDF);
  const bytes = serializeKeyRoot(root);
  assert.throws(() => parseKeyRoot(bytes.subarray(0, bytes.length - 5)), Tampered);
  const other = await createKeyRoot("pw", TEST_KDF);
  // The host swaps in another account's public key: the secret no longer matches it.
  await assert.rejects(unlockKeyRoot({ ...root, publicKey: other.root.publicKey }, "pw"), Tampered);
});

test("a sealed box opens only with the account's keys and detects changes", async () => {
  const { keys } = await createKeyRoot("pw", TEST_KDF);
  const other = await createKeyRoot("pw", TEST_KDF);
  const box = sealToPublicKey(keys.publicKey, new TextEncoder().encode("message key"));
  assert.equal(new TextDecoder().decode(openSealedBox(keys, box)), "message key");
  assert.throws(() => openSealedBox(other.keys, box), Tampered);
  box[box.length - 1]! ^= 1;
  assert.throws(() => openSealedBox(keys, box), Tampered);
});
