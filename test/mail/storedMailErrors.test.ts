/**
 * Issue 2 acceptance: each failure at rest surfaces through the mail layer as its own error, never
 * as garbage: a wrong password, a changed byte, a body swapped with another message's, a body cut
 * short, a changed meta row.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { open, seal } from "../../src/crypto/aead.ts";
import { bucketSize } from "../../src/crypto/padding.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { openEmbeddedStore, type EmbeddedStore } from "../../src/storage/embedded/index.ts";
import { AuthFailed, Tampered, Truncated, WrongContext } from "../../src/errors.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "the right one";
let dir: string;
let store: EmbeddedStore;
let account: Account;
/** mail ids of appended messages; message 0 is large (several chunks). */
const ids: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-errors-"));
  store = await openEmbeddedStore(dir);
  account = await createAccount(store, { user: "tester", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await account.mailbox("INBOX");
  for (let i = 0; i < 6; i++) {
    const raw = sampleMessage(i, { bodyLines: i === 0 ? 4000 : undefined });
    ids.push((await inbox.append(raw, [], Date.now())).mailId);
  }
});
after(async () => {
  await account.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The host's view: raw stored bytes of a message's body blob. */
async function bodyBlob(mailId: string): Promise<{ key: string; bytes: Uint8Array }> {
  const meta = await account.messages.meta(mailId);
  const bytes = await store.blobs.get(meta.blob);
  assert.ok(bytes);
  return { key: meta.blob, bytes };
}

test("a wrong password is AuthFailed; the right one opens the same mail", async () => {
  await assert.rejects(openAccount(store, "the wrong one"), AuthFailed);
  const again = await openAccount(store, PASSWORD);
  try {
    assert.equal((await again.mailbox("INBOX")).index.uids.length, ids.length);
  } finally {
    await again.close();
  }
});

test("a changed byte in a body is Tampered, for a whole read and for a ranged one", async () => {
  const { key, bytes } = await bodyBlob(ids[1]!);
  const changed = Uint8Array.from(bytes);
  changed[changed.length - 20]! ^= 0x01;
  await store.blobs.put(key, changed);
  const meta = await account.messages.meta(ids[1]!);
  await assert.rejects(account.messages.body(meta), Tampered);
  await assert.rejects(account.messages.bodyRange(meta, 0, 100), Tampered);
});

test("a body swapped with another message's is WrongContext", async () => {
  const a = await bodyBlob(ids[2]!);
  const b = await bodyBlob(ids[3]!);
  await store.blobs.put(a.key, b.bytes);
  await assert.rejects(account.messages.body(await account.messages.meta(ids[2]!)), WrongContext);
  // The other message is untouched and still reads.
  assert.deepEqual(await account.messages.body(await account.messages.meta(ids[3]!)), sampleMessage(3));
});

test("a body cut short is Truncated, whole or ranged", async () => {
  const { key, bytes } = await bodyBlob(ids[0]!);
  const meta = await account.messages.meta(ids[0]!);
  assert.ok(meta.size > 128 * 1024, "the message spans several chunks");
  await store.blobs.put(key, bytes.subarray(0, bytes.length - 70_000)); // the last chunk is gone
  await assert.rejects(account.messages.body(meta), Truncated);
  await assert.rejects(account.messages.bodyRange(meta, meta.size - 100, 100), Truncated);
  await store.blobs.put(key, bytes.subarray(0, 20)); // not even a whole header
  await assert.rejects(account.messages.body(meta), Truncated);
});

test("a meta row in encoding 2 still opens; a change in encoding 3's compressed tree is Tampered", async () => {
  const { mailId } = await (await account.mailbox("INBOX")).append(sampleMessage(7), [], Date.now());
  const expected = await account.messages.meta(mailId);
  const key = account.subkey("message-meta");
  const ctx = { purpose: "message-meta", path: `meta/${mailId}` };
  const row = await store.rows.read("meta", mailId);
  assert.ok(row);
  const sealed = row.values[0]!;
  const plain = Buffer.from(open(key, sealed, ctx));
  assert.equal(plain[0], 3, "new rows are written in encoding 3");
  // What this server wrote before encoding 3: the same bytes with the tail uncompressed.
  const n = plain.readUInt32BE(1);
  const tailAt = 9 + n + plain.readUInt32BE(5 + n);
  const older = Buffer.concat([plain.subarray(0, tailAt), inflateRawSync(plain.subarray(tailAt))]);
  older[0] = 2;
  await store.rows.insert("meta", mailId, seal(key, older, ctx), row.token);
  let fresh = await openAccount(store, PASSWORD);
  try {
    const meta = await fresh.messages.meta(mailId);
    assert.equal(meta.header, expected.header);
    assert.deepEqual(meta.index, expected.index);
  } finally {
    await fresh.close();
  }
  // The host changes one byte of the compressed tree (the plaintext sits just before the MAC).
  const changed = Uint8Array.from(sealed);
  changed[changed.length - 16 - bucketSize(plain.length + 1) + plain.length - 3]! ^= 0x01;
  await store.rows.insert("meta", mailId, changed, (await store.rows.read("meta", mailId))!.token);
  fresh = await openAccount(store, PASSWORD);
  try {
    await assert.rejects(fresh.messages.meta(mailId), Tampered);
  } finally {
    await fresh.close();
  }
});

test("a changed meta row is Tampered; a meta row moved to another message is WrongContext", async () => {
  // A fresh account object: the one above caches opened meta.
  const fresh = await openAccount(store, PASSWORD);
  try {
    const row4 = await store.rows.read("meta", ids[4]!);
    const row5 = await store.rows.read("meta", ids[5]!);
    assert.ok(row4 && row5);
    await store.rows.insert("meta", ids[5]!, row4.values[0]!, row5.token);
    await assert.rejects(fresh.messages.meta(ids[5]!), WrongContext);
    const changed = Uint8Array.from(row4.values[0]!);
    changed[changed.length - 1]! ^= 0x80;
    await store.rows.insert("meta", ids[4]!, changed, row4.token);
    await assert.rejects(fresh.messages.meta(ids[4]!), Tampered);
  } finally {
    await fresh.close();
  }
});
