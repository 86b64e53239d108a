/**
 * An APPEND whose id is journaled (Bayou.takeIntentId) puts its body before its batch is built
 * (Mailbox.append). When its row then fails, the withdrawal deletes the body: it must wait for
 * that PUT, or the body lands after its deletion and stays in the bucket, named by nothing.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { sampleMessage } from "./mailFixtures.ts";

const folders: string[] = [];
after(async () => {
  for (const f of folders) await rm(f, { recursive: true, force: true });
});

test("a body put before its batch is not left in storage when its push fails before its row", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-early-put-"));
  folders.push(marksDir);
  const base = memoryStore();
  let slowBodies = false;
  let failOneRead = false;
  const blobs = Object.create(base.blobs) as Store["blobs"];
  blobs.put = async (key, bytes) => {
    if (slowBodies && key.startsWith("mail/")) await new Promise((r) => setTimeout(r, 150));
    return base.blobs.put(key, bytes);
  };
  // One read of a mailbox's rows fails (a host that dropped a connection): the sync a push makes
  // first then throws before the push writes anything of its own.
  const failOnce = (pk: string) => {
    if (!failOneRead || !pk.startsWith("index/")) return false;
    failOneRead = false;
    return true;
  };
  const rows = Object.create(base.rows) as Store["rows"];
  const refused = () => Promise.reject(new Error("the host dropped the connection"));
  rows.read = (pk, sk) => (failOnce(pk) ? refused() : base.rows.read(pk, sk));
  rows.readRange = (pk, query) => (failOnce(pk) ? refused() : base.rows.readRange(pk, query));
  const account = await createAccount(
    { ...base, blobs, rows },
    { user: "u", password: "early body put password", kdf: TEST_KDF, marksDir },
  );
  const inbox = await account.mailbox("INBOX");
  const kept = [(await inbox.append(sampleMessage(1), [], Date.now())).mailId];
  // Another computer rewrites the watch: this one's next rewrite reads it back beside its own
  // value, so its next push syncs first (Bayou rule 3).
  await new Promise((r) => setTimeout(r, 200));
  await base.rows.insert(`index/${inbox.id}`, "watch", new Uint8Array([1, 2, 3]));
  kept.push((await inbox.append(sampleMessage(2), [], Date.now())).mailId);
  await new Promise((r) => setTimeout(r, 300)); // the rewrite and its read-back
  slowBodies = true;
  failOneRead = true;
  await assert.rejects(inbox.append(sampleMessage(3), [], Date.now()), /dropped the connection/);
  assert.equal(failOneRead, false, "the push synced first, and that sync failed");
  await new Promise((r) => setTimeout(r, 300)); // past the body's PUT, had it not been waited for
  const bodies = (await base.blobs.list("mail/")).keys.sort();
  assert.deepEqual(bodies, kept.map((id) => `mail/${id}`).sort(), "only the acknowledged messages' bodies");
  await account.close();
});

/**
 * An account whose body PUTs go through `put`, one message appended and its lot of journaled ids
 * reserved, then `burst` APPENDs at once: more than the lot, so a batch holds some APPENDs with
 * journaled ids (bodies begun early) and some without (its meta cannot ride in the row).
 */
async function burstThrough(
  put: (base: Store["blobs"], key: string, bytes: Uint8Array) => Promise<void>,
  burst: number,
): Promise<number[]> {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-early-put-"));
  folders.push(marksDir);
  const base = memoryStore();
  const blobs = Object.create(base.blobs) as Store["blobs"];
  blobs.put = (key, bytes) =>
    key.startsWith("mail/") ? put(base.blobs, key, bytes) : base.blobs.put(key, bytes);
  const account = await createAccount(
    { ...base, blobs },
    { user: "u", password: "early body put password", kdf: TEST_KDF, marksDir },
  );
  const inbox = await account.mailbox("INBOX");
  await inbox.append(sampleMessage(1), [], Date.now()); // its push reserves a lot of ids
  await new Promise((r) => setTimeout(r, 200)); // the lot's mark is durable
  const results = await Promise.all(
    Array.from({ length: burst }, (_, i) => inbox.append(sampleMessage(i + 2), [], Date.now())),
  );
  await account.close();
  return results.map((r) => r.uid);
}

test("a pipelined burst puts each body once, those begun early included", async () => {
  const puts = new Map<string, number>();
  const uids = await burstThrough((base, key, bytes) => {
    puts.set(key, (puts.get(key) ?? 0) + 1);
    return base.put(key, bytes);
  }, 80);
  assert.equal(new Set(uids).size, 80, "every APPEND got its own UID");
  assert.equal(puts.size, 81, "a body for every message");
  const twice = [...puts].filter(([, n]) => n > 1).map(([key]) => key);
  assert.deepEqual(twice, [], "no body put twice");
});

test("a pipelined burst puts few bodies ahead of their batch at once", async () => {
  let inFlight = 0;
  let most = 0;
  await burstThrough(async (base, key, bytes) => {
    most = Math.max(most, ++inFlight);
    try {
      await new Promise((r) => setTimeout(r, 30)); // a remote host: every PUT takes a while
      return await base.put(key, bytes);
    } finally {
      inFlight--;
    }
  }, 60);
  // A batch puts 16 bodies at a time; those begun early add a few, not one per journaled id (32):
  // each PUT in flight is a connection to the host.
  assert.ok(most <= 16 + 4, `at most 20 body PUTs at once, saw ${most}`);
});

test("a message the MIME index refuses leaves no body behind, though its PUT began before the index", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-early-put-"));
  folders.push(marksDir);
  const base = memoryStore();
  const account = await createAccount(base, {
    user: "u",
    password: "early body put password",
    kdf: TEST_KDF,
    marksDir,
  });
  const inbox = await account.mailbox("INBOX");
  const kept = (await inbox.append(sampleMessage(1), [], Date.now())).mailId;
  await new Promise((r) => setTimeout(r, 100)); // the lot of journaled ids is reserved
  // Header blocks past the MIME parser's 16 MiB limit: refused with TooBig by the index.
  const line = `X-Padding: ${"a".repeat(998)}\r\n`;
  const huge = Buffer.from(`${line.repeat(17 * 1024)}Subject: too big\r\n\r\nbody\r\n`, "latin1");
  await assert.rejects(inbox.append(huge, [], Date.now()), /header blocks exceed/);
  let bodies: string[] = [];
  for (let i = 0; i < 50; i++) {
    bodies = (await base.blobs.list("mail/")).keys;
    if (bodies.length === 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(bodies, [`mail/${kept}`], "only the acknowledged message's body");
  await account.close();
});
