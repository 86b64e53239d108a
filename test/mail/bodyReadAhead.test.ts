/**
 * Bodies read ahead of a client on a remote store (mail/read/bodyReadAhead.ts): a second computer
 * (B, empty local cache) walks INBOX's message list; the newest bodies are fetched meanwhile, and
 * the client's later reads of them ask the remote nothing more. Only what the local cache lacks is
 * fetched, and within the byte budget.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { BodyReadAhead } from "../../src/mail/read/bodyReadAhead.ts";
import { CACHEABLE } from "../../src/mail/messageLayout.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { counting } from "../storage/localCacheSupport.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "correct horse battery";
const COUNT = 12;

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("a list walk on a second computer reads the newest bodies ahead; reading them then asks the remote nothing", async () => {
  const shared = memoryStore();
  const remote = counting(shared);
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < COUNT; i++) await inbox.append(sampleMessage(i), [], Date.UTC(2024, 0, 1 + i));
  const store = await withLocalCache(remote, memoryStore(), CACHEABLE);
  const b = await openAccount(store, PASSWORD);
  try {
    const mbx = await b.mailbox("INBOX");
    const entries = mbx.index.uids.map((uid) => mbx.index.byUid.get(uid)!);
    remote.reset();
    mbx.readAheadNewest();
    await until("every body is fetched", () => (remote.calls.get("blobs.get") ?? 0) === COUNT);
    mbx.readAheadNewest(); // once per mailbox: nothing more
    const metas = await b.messages.getMeta(entries.map((e) => e.id));
    const before = remote.calls.get("blobs.get");
    for (const e of entries) {
      const meta = metas.get(e.id)!;
      const body = await b.messages.bodyRange(meta, 0, meta.physicalSize);
      assert.equal(body.length, meta.physicalSize);
      assert.match(Buffer.from(body).toString(), /^From: /);
    }
    assert.equal(remote.calls.get("blobs.get"), before, "every body came from the read-ahead");
  } finally {
    await b.close();
    await a.close();
    await store.close();
  }
});

test("a read-ahead holds no more than its byte budget and hands each body out once", async () => {
  const blobs = memoryStore();
  for (let i = 0; i < 6; i++) await blobs.blobs.put(`mail/${i}`, new Uint8Array(1000).fill(i));
  const remote = counting(blobs);
  const ahead = new BodyReadAhead(remote.blobs, 3000, 2);
  ahead.start([0, 1, 2, 3, 4, 5].map((i) => ({ key: `mail/${i}`, bytes: 1000 })));
  await until("the budget is used", () => ahead.bytes === 3000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(remote.calls.get("blobs.get"), 3, "only what fits in the budget");
  const first = ahead.take("mail/0");
  assert.deepEqual(await first, new Uint8Array(1000).fill(0));
  assert.equal(ahead.take("mail/0"), undefined, "handed out once");
  assert.equal(ahead.take("mail/5"), undefined, "beyond the budget: not read ahead");
  assert.equal(ahead.bytes, 2000);
  await blobs.close();
});
