import { test } from "node:test";
import assert from "node:assert/strict";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createKeyRoot } from "../../src/crypto/keyRoot.ts";
import {
  FROM_SENDER_OVERHEAD,
  newSenderKeys,
  openFromSender,
  sealFromSender,
  senderKeysOf,
} from "../../src/crypto/senderBox.ts";
import { Tampered } from "../../src/errors.ts";

const bytes = new TextEncoder().encode("a 32-byte message key, say......");

test("a box from a sender opens with the account's keys and names that sender; its size is the input + the overhead", async () => {
  const { keys } = await createKeyRoot("pw", TEST_KDF);
  const sender = newSenderKeys();
  const sealed = sealFromSender(keys.publicKey, sender, bytes);
  assert.equal(sealed.length, bytes.length + FROM_SENDER_OVERHEAD);
  const opened = openFromSender(keys, sealed);
  assert.deepEqual([opened.bytes, opened.sender], [bytes, sender.publicKey]);
  assert.ok(
    !Buffer.from(sealed).includes(Buffer.from(sender.publicKey)),
    "the host does not learn the sender",
  );
  assert.deepEqual(senderKeysOf(sender.secretKey).publicKey, sender.publicKey);
});

test("a box that names a sender whose secret key did not make it is Tampered", async () => {
  const { keys } = await createKeyRoot("pw", TEST_KDF);
  const registered = newSenderKeys();
  const forger = newSenderKeys();
  const sealed = sealFromSender(
    keys.publicKey,
    { publicKey: registered.publicKey, secretKey: forger.secretKey },
    bytes,
  );
  assert.throws(() => openFromSender(keys, sealed), /forged or changed/);
});

test("a changed byte, or a box sealed to another account, is Tampered", async () => {
  const { keys } = await createKeyRoot("pw", TEST_KDF);
  const { keys: other } = await createKeyRoot("pw", TEST_KDF);
  const sealed = sealFromSender(keys.publicKey, newSenderKeys(), bytes);
  const changed = Uint8Array.from(sealed);
  changed[40]! ^= 1;
  assert.throws(() => openFromSender(keys, changed), Tampered);
  assert.throws(() => openFromSender(other, sealed), Tampered);
});
