/**
 * Issue 17's lost mailbox (uidStormProcesses, seeds 1309389802 and 2061722098): a DELETE answered
 * "does not exist" for a mailbox this computer had just renamed or made, and LIST then held
 * neither name. The DELETE had written its tombstone; deleting the mail afterwards asks every other
 * mailbox whether it still holds the messages, and opened them by name: a mailbox another computer
 * renamed or deleted in between failed that with NotFound, which the DELETE answered as its own.
 * Every walk over the mailboxes of a list just read (status, LIST-STATUS, the search index, the
 * cache, a rekey) did the same. The second computer's change is made to land exactly there, after
 * the listing and before the opening, through a store that pauses the first computer's read of
 * the mailbox list.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { RowStore, Store } from "../../src/storage/types.ts";
import { META_PK } from "../../src/mail/messageLayout.ts";
import { sampleMessage } from "./mailFixtures.ts";

before(async () => {
  await loadSodium();
});

/**
 * `inner` as seen by one computer: once armed, the first read of the mailbox list (with
 * `afterWrite`, the first after this computer's next write of it) returns only once `meanwhile`
 * (another computer's change) is done.
 */
function pausingListRead(
  inner: Store,
  meanwhile: () => Promise<void>,
): { store: Store; arm: (afterWrite: boolean) => void; fired: () => boolean } {
  let state: "idle" | "armed" | "wrote" | "fired" = "idle";
  const isList = (pk: string, sk: string) => pk === "mailboxes" && sk === "list";
  const rows: RowStore = Object.create(inner.rows) as RowStore;
  rows.insert = async (pk, sk, value, token) => {
    await inner.rows.insert(pk, sk, value, token);
    if (state === "armed" && isList(pk, sk)) state = "wrote";
  };
  rows.read = async (pk, sk) => {
    const row = await inner.rows.read(pk, sk);
    if (state === "wrote" && isList(pk, sk)) {
      state = "fired";
      await meanwhile();
    }
    return row;
  };
  return {
    store: { blobs: inner.blobs, rows, close: () => inner.close() },
    arm: (afterWrite) => (state = afterWrite ? "armed" : "wrote"),
    fired: () => state === "fired",
  };
}

/** Whether the message's meta row is gone from storage (no computer's cache in between). */
async function metaGone(store: Store, mailId: string): Promise<boolean> {
  const row = await store.rows.read(META_PK, mailId);
  return row === null || row.values.length === 0;
}

async function twoComputers(meanwhile: (other: Account) => Promise<void>): Promise<{
  here: Account;
  other: Account;
  shared: Store;
  fired: () => boolean;
  arm: (afterWrite: boolean) => void;
}> {
  const shared = memoryStore();
  const setup = await createAccount(shared, { user: "tester", password: "pw", kdf: TEST_KDF });
  await setup.close();
  const other = await openAccount(shared, "pw");
  const paused = pausingListRead(shared, () => meanwhile(other));
  const here = await openAccount(paused.store, "pw");
  return { here, other, shared, fired: paused.fired, arm: paused.arm };
}

test("a DELETE succeeds while another computer renames a different mailbox, and keeps the mail that mailbox holds", async () => {
  const { here, other, shared, fired, arm } = await twoComputers((o) => o.renameMailbox("Other", "Renamed"));
  await here.createMailbox("Doomed");
  await here.createMailbox("Other");
  const doomed = await here.mailbox("Doomed");
  const only = (await doomed.append(sampleMessage(1), [], Date.now())).mailId;
  const shared1 = (await doomed.append(sampleMessage(2), [], Date.now())).mailId;
  // One id in two mailboxes, as an interrupted MOVE leaves it: deleting Doomed must keep its content.
  await (await here.mailbox("Other")).addExisting([{ mailId: shared1, flags: [] }]);
  arm(true);

  await here.deleteMailbox("Doomed");
  assert.ok(fired(), "the other computer's RENAME landed during the DELETE");

  const names = (await here.listMailboxes()).mailboxes.map((m) => m.name);
  assert.ok(!names.includes("Doomed") && names.includes("Renamed") && !names.includes("Other"), names.join());
  assert.ok(await metaGone(shared, only), "Doomed's own message is deleted");
  const renamed = await other.mailbox("Renamed");
  await renamed.sync();
  assert.ok(renamed.index.byId.has(shared1));
  assert.ok(!(await metaGone(shared, shared1)), "the message Renamed still holds keeps its meta");
  assert.ok((await shared.blobs.list("mail/")).keys.length === 1, "and its body, only that one");
  await here.close();
  await other.close();
});

test("a DELETE succeeds while another computer deletes a different mailbox", async () => {
  const { here, other, shared, fired, arm } = await twoComputers((o) => o.deleteMailbox("Other"));
  await here.createMailbox("Doomed");
  await here.createMailbox("Other");
  const doomed = await here.mailbox("Doomed");
  const only = (await doomed.append(sampleMessage(1), [], Date.now())).mailId;
  // Open here, with mail: this computer holds a mark of Other's index, which the deletion empties.
  const gone = (await (await here.mailbox("Other")).append(sampleMessage(2), [], Date.now())).mailId;
  arm(true);

  await here.deleteMailbox("Doomed");
  assert.ok(fired(), "the other computer's DELETE landed during this one");
  assert.ok(await metaGone(shared, gone), "Other's message is deleted");

  const names = (await here.listMailboxes()).mailboxes.map((m) => m.name);
  assert.ok(!names.includes("Doomed") && !names.includes("Other"), names.join());
  assert.ok(await metaGone(shared, only), "Doomed's message is deleted");
  await here.close();
  await other.close();
});

test("a walk over every mailbox (status) succeeds while another computer renames one", async () => {
  const { here, other, fired, arm } = await twoComputers((o) => o.renameMailbox("Other", "Renamed"));
  await here.createMailbox("Other");
  await (await other.mailbox("Other")).append(sampleMessage(1), [], Date.now());
  arm(false);

  const { mailboxes } = await here.summary();
  assert.ok(fired(), "the other computer's RENAME landed between the listing and the walk");
  assert.deepEqual(
    mailboxes.find((m) => m.name === "Other"),
    { name: "Other", messages: 1 },
    "listed under the name it had when listed, with its mail",
  );
  await here.close();
  await other.close();
});
