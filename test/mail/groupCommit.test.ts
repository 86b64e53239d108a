/**
 * Group commit (issue 18): APPEND, STORE and EXPUNGE of many sessions on one mailbox that arrive
 * while a write is going out share the next op row, and each flag change in a shared row is judged
 * against what the earlier writes of that row leave.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { Mailbox } from "../../src/mail/mailbox.ts";
import { MessageStore } from "../../src/mail/messageStore.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { sampleMessage } from "./mailFixtures.ts";

/** A memory store whose op-row inserts take `delayMs` each (a disk's fsync) and are counted. */
function slowRows(delayMs: number): { store: Store; opRows: () => number } {
  const inner = memoryStore();
  let opRows = 0;
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.insert = async (pk, sk, value, token) => {
    if (pk.startsWith("index/") && sk !== "watch") {
      opRows++;
      await new Promise((r) => setTimeout(r, delayMs));
    }
    return inner.rows.insert(pk, sk, value, token);
  };
  return { store: { ...inner, rows }, opRows: () => opRows };
}

test("ten sessions' writes to one mailbox while a row is going out share one op row", async () => {
  await loadSodium();
  const { store, opRows } = slowRows(30);
  const mailbox = new Mailbox("m1", 7, store, randomKey(), new MessageStore(store, randomKey()));
  const first = await Promise.all(
    Array.from({ length: 10 }, (_, i) => mailbox.append(sampleMessage(i), [], 1e12)),
  );
  const before = opRows();
  const ids = first.map((a) => a.mailId);
  // A write in flight; then every session's STORE, EXPUNGE and APPEND arrive behind it.
  const inFlight = mailbox.setFlags([ids[0]!], "add", ["\\Answered"]);
  await Promise.all([
    inFlight,
    ...ids.slice(1, 6).map((id) => mailbox.setFlags([id], "add", ["\\Seen"])),
    mailbox.expunge([ids[6]!, ids[7]!]),
    ...[10, 11, 12].map((i) => mailbox.append(sampleMessage(i), ["\\Flagged"], 1e12)),
  ]);
  assert.equal(opRows() - before, 2, "the write in flight, then one row for the nine behind it");
  const idx = mailbox.index;
  assert.equal(idx.uids.length, 11);
  for (const id of ids.slice(1, 6)) assert.deepEqual(idx.byId.get(id)!.flags, ["\\Seen"]);
  assert.equal(idx.byId.has(ids[6]!), false);
  assert.deepEqual(idx.uids.slice(-3), [11, 12, 13], "APPENDs in one row get UIDs in turn");
  mailbox.close();
});

test("a flag set and cleared again by writes sharing one row ends as the last one left it", async () => {
  await loadSodium();
  const { store, opRows } = slowRows(30);
  const mailbox = new Mailbox("m1", 7, store, randomKey(), new MessageStore(store, randomKey()));
  const { mailId } = await mailbox.append(sampleMessage(1), [], 1e12);
  const before = opRows();
  await Promise.all([
    mailbox.setFlags([mailId], "add", ["\\Answered"]), // goes out alone
    mailbox.setFlags([mailId], "add", ["\\Seen"]),
    mailbox.setFlags([mailId], "remove", ["\\Seen"]), // judged after the add above, not before it
    mailbox.setFlags([mailId], "add", ["\\Flagged"]),
    mailbox.setFlags([mailId], "remove", ["\\Flagged"]),
    mailbox.setFlags([mailId], "add", ["\\Seen"]),
  ]);
  assert.equal(opRows() - before, 2);
  assert.deepEqual(mailbox.index.byId.get(mailId)!.flags, ["\\Answered", "\\Seen"]);
  mailbox.close();
});

test("an expunge with contentLater is answered once its row is stored, before the content goes", async () => {
  await loadSodium();
  const inner = memoryStore();
  let release!: () => void;
  const stalled = new Promise<void>((r) => (release = r));
  const blobs = Object.create(inner.blobs) as Store["blobs"];
  blobs.delete = async (key) => {
    await stalled;
    return inner.blobs.delete(key);
  };
  const store: Store = { ...inner, blobs };
  const mailbox = new Mailbox("m1", 7, store, randomKey(), new MessageStore(store, randomKey()));
  const { mailId } = await mailbox.append(sampleMessage(1), [], 1e12);
  const answered = await Promise.race([
    mailbox.expunge([mailId], { contentLater: true }).then(() => true),
    new Promise((r) => setTimeout(() => r(false), 2000)),
  ]);
  assert.equal(answered, true, "answered while the body's deletion is held back");
  assert.equal(mailbox.index.byId.has(mailId), false);
  const flushed = mailbox.flushSignals();
  release();
  await flushed; // waits for the deletion
  assert.equal((await inner.blobs.list("mail/")).keys.length, 0, "the content is deleted after all");
  mailbox.close();
});
