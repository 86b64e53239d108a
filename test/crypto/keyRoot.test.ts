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

/** The serialized root with its first entry's fields (or the whole JSON) changed as the host likes. */
function hostEdit(
  bytes: Uint8Array,
  edit: (json: { entries: Record<string, unknown>[] }) => void,
): Uint8Array {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as { entries: Record<string, unknown>[] };
  edit(json);
  return new TextEncoder().encode(JSON.stringify(json));
}

test("a key root asking for absurd Argon2id parameters or entries is Tampered at once, not run", async () => {
  const { root } = await createKeyRoot("pw", TEST_KDF);
  const bytes = serializeKeyRoot(root);
  const attacks: [string, Uint8Array][] = [
    ["opslimit 2^32-1", hostEdit(bytes, (j) => (j.entries[0]!.opslimit = 2 ** 32 - 1))],
    ["memlimit 1 TiB", hostEdit(bytes, (j) => (j.entries[0]!.memlimit = 2 ** 40))],
    ["memlimit 4 GiB", hostEdit(bytes, (j) => (j.entries[0]!.memlimit = 4 * 2 ** 30))],
    ["opslimit 1e300", hostEdit(bytes, (j) => (j.entries[0]!.opslimit = 1e300))],
    [
      "16 passes over 1 GiB",
      hostEdit(bytes, (j) => Object.assign(j.entries[0]!, { opslimit: 16, memlimit: 2 ** 30 })),
    ],
    [
      "10,000 entries",
      hostEdit(bytes, (j) => (j.entries = Array.from({ length: 10_000 }, () => j.entries[0]!))),
    ],
    [
      "16 entries of 4 passes over 1 GiB",
      hostEdit(bytes, (j) => {
        j.entries = Array.from({ length: 16 }, () => ({ ...j.entries[0]!, opslimit: 4, memlimit: 2 ** 30 }));
      }),
    ],
    ["a 1 MiB root", hostEdit(bytes, (j) => (j.entries[0]!.padding = "x".repeat(2 ** 20)))],
  ];
  for (const [what, attack] of attacks) {
    const started = performance.now();
    // parseKeyRoot is what every unlock goes through (mail/account.ts, the incoming mover).
    await assert.rejects(
      (async () => unlockKeyRoot(parseKeyRoot(attack), "pw"))(),
      (err: Error) => err instanceof Tampered && /damaged or replaced/.test(err.message),
      what,
    );
    assert.ok(
      performance.now() - started < 200,
      `${what}: refused only after ${performance.now() - started} ms`,
    );
  }
});

test("the Argon2id ceiling still lets a root within it open, and derivation itself refuses past it", async () => {
  const { root } = await createKeyRoot("pw", TEST_KDF);
  // Sixteen entries of the test parameters are well within every bound.
  const full = hostEdit(serializeKeyRoot(root), (j) => {
    j.entries = Array.from({ length: 16 }, () => j.entries[0]!);
  });
  assert.equal(parseKeyRoot(full).entries.length, 16);
  const { derivePasswordKey, KDF_LIMITS } = await import("../../src/crypto/passwordKey.ts");
  await assert.rejects(
    derivePasswordKey("pw", new Uint8Array(16), { opslimit: 1, memlimit: KDF_LIMITS.maxMemlimit * 2 }),
    Invalid,
  );
});

test("a seventeenth password is refused: the root would no longer open", async () => {
  const { root, keys } = await createKeyRoot("pw", TEST_KDF);
  let grown = root;
  for (let i = 1; i < 16; i++) grown = { ...grown, entries: [...grown.entries, grown.entries[0]!] };
  await assert.rejects(addPassword(grown, keys, "one more", TEST_KDF), Invalid);
});
