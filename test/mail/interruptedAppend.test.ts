/**
 * An APPEND writes its body, its meta and its op row at once (sync/bayou.ts rule 3), so a computer
 * killed mid-append can leave an op row naming a message whose body never landed. The ids of a
 * push are in this computer's mark before its row goes out; the next start checks them and
 * withdraws what is not whole. Here the body's write never ends, the row lands, and the process
 * "dies" (the account is dropped without closing): the reopened mailbox lists no such message.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "interrupted append password";
const folders: string[] = [];
after(async () => {
  for (const f of folders) await rm(f, { recursive: true, force: true });
});

/** The store, with every body put from now on held forever (the process dies before it lands). */
function bodiesStall(base: Store): { store: Store; stall: () => void } {
  let stalled = false;
  const blobs = Object.create(base.blobs) as Store["blobs"];
  blobs.put = (key, bytes) =>
    stalled && key.startsWith("mail/") ? new Promise(() => undefined) : base.blobs.put(key, bytes);
  return { store: { ...base, blobs }, stall: () => (stalled = true) };
}

test("an append cut short after its op row landed but before its body did is withdrawn at the next start", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-interrupted-"));
  folders.push(marksDir);
  const base = memoryStore();
  const { store, stall } = bodiesStall(base);
  const first = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF, marksDir });
  const inbox = await first.mailbox("INBOX");
  const kept = await inbox.append(sampleMessage(1), [], Date.now());
  stall();
  const lost = inbox.append(sampleMessage(2), [], Date.now());
  let acknowledged = false;
  void lost.then(() => (acknowledged = true));
  // Wait until the row naming the stalled message is in storage (the body never will be).
  const rowsOf = async () => (await base.rows.readRange(`index/${inbox.id}`, { end: "g" })).items.length;
  for (let i = 0; i < 100 && (await rowsOf()) < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await rowsOf(), 2, "the op row of the stalled append landed");
  assert.equal(acknowledged, false, "an append whose body is not stored is not acknowledged");
  const ghost = [...inbox.index.byId.keys()].find((id) => id !== kept.mailId);

  // The computer dies here: nothing of `first` runs again. Another start, same marks folder.
  const second = await openAccount(base, PASSWORD, { marksDir, log: () => undefined });
  const again = await second.mailbox("INBOX");
  assert.ok(again.index.byId.has(kept.mailId), "the acknowledged append is there");
  assert.equal(again.index.uids.length, 1, "the message without a body is not listed");
  if (ghost) assert.ok(!again.index.byId.has(ghost));
  for (const entry of again.index.byId.values())
    await second.messages.body(await second.messages.meta(entry.id));
  await second.close();
});

test("an op row goes out only once the mark naming its unstored pieces is on disk (a kill then finds them)", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-interrupted-"));
  const atRowTime = await mkdtemp(join(tmpdir(), "agl-interrupted-copy-"));
  folders.push(marksDir, atRowTime);
  const base = memoryStore();
  const { store, stall } = bodiesStall(base);
  // What the disk holds at the moment each op row is sent: a kill right after the send leaves
  // exactly that (a mark still being written is a temp file, which no load reads).
  let copyAtRow = false;
  const rows = Object.create(store.rows) as Store["rows"];
  rows.insert = (pk, sk, value, token) => {
    if (copyAtRow && pk.startsWith("index/") && sk !== "watch") {
      rmSync(atRowTime, { recursive: true, force: true });
      cpSync(marksDir, atRowTime, { recursive: true });
    }
    return store.rows.insert(pk, sk, value, token);
  };
  const first = await createAccount(
    { ...store, rows },
    { user: "u", password: PASSWORD, kdf: TEST_KDF, marksDir },
  );
  const inbox = await first.mailbox("INBOX");
  const kept = await inbox.append(sampleMessage(1), [], Date.now());
  await inbox.flushSignals(); // the next push's mark is then its own write, not one already durable
  stall();
  copyAtRow = true;
  void inbox.append(sampleMessage(2), [], Date.now());
  const rowsOf = async () => (await base.rows.readRange(`index/${inbox.id}`, { end: "g" })).items.length;
  for (let i = 0; i < 100 && (await rowsOf()) < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await rowsOf(), 2, "the op row of the stalled append landed");

  // The computer died as the row went out: its marks are what the disk held then.
  const second = await openAccount(base, PASSWORD, { marksDir: atRowTime, log: () => undefined });
  const again = await second.mailbox("INBOX");
  assert.ok(again.index.byId.has(kept.mailId), "the acknowledged append is there");
  assert.equal(again.index.uids.length, 1, "the message without a body is withdrawn, not listed");
  await second.close();
});

test("after a kill, two mailboxes with pending ids open without waiting for each other", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-interrupted-"));
  folders.push(marksDir);
  const base = memoryStore();
  const first = await createAccount(base, { user: "u", password: PASSWORD, kdf: TEST_KDF, marksDir });
  await first.createMailbox("Other");
  // Each mailbox takes a lot of ids ahead of use (Bayou.takeIntentId) at its appends.
  for (const name of ["INBOX", "Other"]) {
    const mbx = await first.mailbox(name);
    for (let i = 0; i < 3; i++) await mbx.append(sampleMessage(i), [], Date.now());
  }
  await new Promise((r) => setTimeout(r, 50)); // the lots' mark writes land

  // Killed: `first` never closes, so both marks still name unused ids. Another start:
  const second = await openAccount(base, PASSWORD, { marksDir, log: () => undefined });
  let timer: NodeJS.Timeout | undefined;
  const opened = await Promise.race([
    Promise.all([second.mailbox("INBOX"), second.mailbox("Other")]).then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5_000))),
  ]);
  clearTimeout(timer);
  assert.ok(opened, "both mailboxes opened within 5 s");
  assert.equal((await second.mailbox("INBOX")).index.uids.length, 3);
  assert.equal((await second.mailbox("Other")).index.uids.length, 3);
  await second.close();
});
