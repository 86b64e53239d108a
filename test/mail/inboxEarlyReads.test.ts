/**
 * Issue 11: by this computer's hint of INBOX's id (config/inboxHint.ts), a LOGIN on a remote store
 * starts INBOX's first-sync reads beside Argon2id (openAccount); the sealed list read after the
 * unlock decides whether INBOX's first sync takes them (openAhead). A wrong hint costs only those
 * reads and is corrected; one that is not an id starts nothing.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { KeptKeyRoot } from "../../src/mail/keptKeyRoot.ts";
import { unlockKeyRoot } from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { aroundStoreCalls } from "../support/storeCalls.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "correct horse battery staple";

before(async () => {
  await loadSodium();
});

/** An account whose INBOX holds 3 messages and Sent 1; their mailbox ids. */
async function accountWithMail(): Promise<{ raw: Store; inbox: string; sent: string; root: Uint8Array }> {
  const raw = memoryStore();
  const account = await createAccount(raw, { user: "alice", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await account.mailbox("INBOX");
  for (let i = 0; i < 3; i++) await inbox.append(sampleMessage(i), [], Date.now());
  await (await account.mailbox("Sent")).append(sampleMessage(9), ["\\Seen"], Date.now());
  const { mailboxes } = await account.listMailboxes();
  await account.close();
  return {
    raw,
    inbox: mailboxes.find((m) => m.name === "INBOX")!.id,
    sent: mailboxes.find((m) => m.name === "Sent")!.id,
    root: (await raw.blobs.get("keys/root"))!,
  };
}

/**
 * The store as a remote one (a read pool), every call recorded as "layer.method key[/sk]", and a
 * key root kept from an earlier read whose Argon2id waits until `release`.
 */
function remoteLogin(raw: Store, root: Uint8Array) {
  const calls: string[] = [];
  const recordedStore = aroundStoreCalls(raw, (layer, prop, args, call) => {
    calls.push(`${layer}.${prop} ${String(args[0])}${typeof args[1] === "string" ? `/${args[1]}` : ""}`);
    return call();
  });
  const store: Store = { ...recordedStore, readParallelism: () => 4 };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let derived = false;
  const kept = new KeptKeyRoot(async (parsed, password) => {
    await held;
    derived = true;
    return unlockKeyRoot(parsed, password);
  });
  kept.remember(root);
  return { store, calls, release, kept, derived: () => derived };
}

const readsOf = (calls: string[], id: string) =>
  calls.filter(
    (c) =>
      c.includes(`index/${id}/watch`) ||
      c === `rows.readRange index/${id}` ||
      c === `blobs.list index/${id}/checkpoint/`,
  );

/** Waits (bounded) until `ok()`. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), what);
}

test("by the hint, INBOX's first-sync reads go out while Argon2id runs, and INBOX's first sync takes them", async () => {
  const { raw, inbox, root } = await accountWithMail();
  const login = remoteLogin(raw, root);
  const learned: string[] = [];
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    inboxHint: { id: inbox, learned: (id) => learned.push(id) },
  });
  await until(
    () => readsOf(login.calls, inbox).length === 4,
    "the watch, the rows and both listings were sent",
  );
  assert.equal(login.derived(), false, "Argon2id has not ended");
  assert.deepEqual(readsOf(login.calls, inbox), [
    `blobs.list index/${inbox}/checkpoint/`,
    `rows.read index/${inbox}/watch`,
    `rows.readRange index/${inbox}`,
    `blobs.list index/${inbox}/checkpoint/`,
  ]);
  login.release();
  const account = await opening;
  try {
    account.openAhead("INBOX");
    const { mailbox, opened } = await account.mailboxOpened("INBOX");
    assert.ok(opened);
    assert.equal(mailbox.index.uids.length, 3);
    assert.equal(
      login.calls.filter((c) => c === `rows.readRange index/${inbox}`).length,
      1,
      "INBOX's rows were read once, during Argon2id",
    );
    assert.deepEqual(learned, [], "the hint was right: nothing to keep");
  } finally {
    await account.close();
  }
});

test("a hint naming another mailbox: its reads are dropped, INBOX is read after the unlock, and its id is learned", async () => {
  const { raw, inbox, sent, root } = await accountWithMail();
  const login = remoteLogin(raw, root);
  const learned: string[] = [];
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    inboxHint: { id: sent, learned: (id) => learned.push(id) },
  });
  await until(() => readsOf(login.calls, sent).length === 4, "the hinted mailbox's reads were sent");
  assert.deepEqual(readsOf(login.calls, inbox), [], "INBOX itself is not known before the unlock");
  login.release();
  const account = await opening;
  try {
    account.openAhead("INBOX");
    const { mailbox } = await account.mailboxOpened("INBOX");
    assert.equal(mailbox.index.uids.length, 3, "INBOX's own messages, not Sent's one");
    assert.equal(login.calls.filter((c) => c === `rows.readRange index/${inbox}`).length, 1);
    assert.equal(
      login.calls.filter((c) => c === `rows.readRange index/${sent}`).length,
      1,
      "read once, for nothing",
    );
    await until(() => learned.length === 1, "INBOX's id was learned");
    assert.deepEqual(learned, [inbox]);
    const sentBox = await account.mailbox("Sent");
    assert.equal(sentBox.index.uids.length, 1);
  } finally {
    await account.close();
  }
});

test("a hint that is not a mailbox id, or a local store, starts nothing early and changes nothing", async () => {
  const { raw, inbox, root } = await accountWithMail();
  for (const id of ["../keys/root", "zz", `${inbox}x`, ""]) {
    const login = remoteLogin(raw, root);
    const opening = openAccount(login.store, PASSWORD, { keptKeyRoot: login.kept, inboxHint: { id } });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      login.calls.filter((c) => c.includes("index/")),
      [],
      `nothing read by the hint ${JSON.stringify(id)}`,
    );
    login.release();
    const account = await opening;
    account.openAhead("INBOX");
    assert.equal((await account.mailbox("INBOX")).index.uids.length, 3);
    await account.close();
  }
  // A local store: no round trip to hide, nothing read before the unlock.
  const login = remoteLogin(raw, root);
  const local: Store = { ...login.store };
  delete local.readParallelism;
  const opening = openAccount(local, PASSWORD, { keptKeyRoot: login.kept, inboxHint: { id: inbox } });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    login.calls.filter((c) => c.includes("index/")),
    [],
  );
  login.release();
  await (await opening).close();
});
