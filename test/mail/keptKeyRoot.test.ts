/**
 * An unlock starts Argon2id on the key root kept from an earlier read, beside its own read of
 * `keys/root`, and the root read now decides (src/mail/keptKeyRoot.ts): a root changed elsewhere
 * opens with the new password and refuses the old one, and a root the host served earlier (forged
 * entries, weaker Argon2id parameters) can neither open the account nor set the parameters used.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createKeyRoot,
  parseKeyRoot,
  serializeKeyRoot,
  unlockKeyRoot,
  type KeyRootFile,
} from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { AuthFailed } from "../../src/errors.ts";
import { changePassword, createAccount, openAccount } from "../../src/mail/account.ts";
import { KeptKeyRoot } from "../../src/mail/keptKeyRoot.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { aroundStoreCalls } from "../support/storeCalls.ts";

const PASSWORD = "correct horse battery staple";

/** A KeptKeyRoot whose unlocks are the real ones, each recorded with the root it was given. */
function recordingKept() {
  const unlocked: KeyRootFile[] = [];
  const kept = new KeptKeyRoot((root, password) => {
    unlocked.push(root);
    return unlockKeyRoot(root, password);
  });
  return { kept, unlocked };
}

async function accountStore(): Promise<{ store: Store; rootBytes: () => Promise<Uint8Array> }> {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: PASSWORD, kdf: TEST_KDF })).close();
  return { store, rootBytes: async () => (await store.blobs.get("keys/root"))! };
}

test("the unlock on the kept key root starts while the read of keys/root is still held, and is the one used", async () => {
  const { store: raw, rootBytes } = await accountStore();
  const { kept, unlocked } = recordingKept();
  kept.remember(await rootBytes());
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let rootRead = false;
  const store = aroundStoreCalls(raw, async (_layer, prop, args, call) => {
    if (prop === "get" && args[0] === "keys/root") {
      await held;
      rootRead = true;
    }
    return call();
  });
  const opening = openAccount(store, PASSWORD, { keptKeyRoot: kept });
  // Bounded: the unlock is started in the same turn as the read; a few turns are plenty.
  for (let i = 0; i < 50 && unlocked.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(rootRead, false, "keys/root is still held");
  assert.equal(unlocked.length, 1, "Argon2id started on the kept root before the read answered");
  release();
  const account = await opening;
  await account.close();
  assert.equal(unlocked.length, 1, "the same bytes came back: no second derivation");
});

test("a key root changed on another computer: the new password opens it, the old one is refused", async () => {
  const { store, rootBytes } = await accountStore();
  const { kept, unlocked } = recordingKept();
  const before = await rootBytes();
  await changePassword(store, PASSWORD, "new password", TEST_KDF);

  kept.remember(before);
  const account = await openAccount(store, "new password", { keptKeyRoot: kept });
  await account.close();
  assert.equal(unlocked.length, 2, "the kept root's derivation, then the fetched root's");
  assert.deepEqual(serializeKeyRoot(unlocked[1]!), await rootBytes(), "the fetched root decided");

  // The old password opens the kept (old) root; the fetched one refuses it.
  kept.remember(before);
  await assert.rejects(openAccount(store, PASSWORD, { keptKeyRoot: kept }), AuthFailed);
  assert.equal(unlocked.length, 4);
  // That read kept the new root: the next unlock derives once.
  await assert.rejects(openAccount(store, PASSWORD, { keptKeyRoot: kept }), AuthFailed);
  assert.equal(unlocked.length, 5);
});

test("a root the host served earlier, forged or with weaker Argon2id parameters, decides nothing", async () => {
  const { store, rootBytes } = await accountStore();
  const real = parseKeyRoot(await rootBytes());

  // Entries sealed for a password the host chose: they open on the kept root, not on the real one.
  const forged = await createKeyRoot("host's password", TEST_KDF);
  const { kept, unlocked } = recordingKept();
  kept.remember(serializeKeyRoot(forged.root));
  await assert.rejects(openAccount(store, "host's password", { keptKeyRoot: kept }), AuthFailed);
  assert.equal(unlocked.length, 2);

  // The real entries with the Argon2id parameters lowered: the early derivation opens nothing and
  // the fetched root's parameters are the ones the login runs with.
  const weaker = {
    ...real,
    entries: real.entries.map((e) => ({ ...e, kdf: { opslimit: 1, memlimit: 8192 } })),
  };
  const second = recordingKept();
  second.kept.remember(serializeKeyRoot(weaker));
  const account = await openAccount(store, PASSWORD, { keptKeyRoot: second.kept });
  await account.close();
  assert.deepEqual(
    second.unlocked.map((r) => r.entries[0]!.kdf),
    [{ opslimit: 1, memlimit: 8192 }, real.entries[0]!.kdf],
  );
});

test("kept bytes that do not parse as a key root are not kept; the login reads and unlocks as before", async () => {
  const { store } = await accountStore();
  const { kept, unlocked } = recordingKept();
  kept.remember(new TextEncoder().encode("{not a key root"));
  const account = await openAccount(store, PASSWORD, { keptKeyRoot: kept });
  await account.close();
  assert.equal(unlocked.length, 1);
});
