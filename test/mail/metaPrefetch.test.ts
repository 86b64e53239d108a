/** MessageStore's meta prefetch: a later getMeta waits for it instead of reading again, and a failed one is read again. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { MessageStore } from "../../src/mail/messageStore.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import type { Store } from "../../src/storage/types.ts";

function countingStore(): { store: Store; batches: string[][]; failNext: { on: boolean } } {
  const inner = memoryStore();
  const batches: string[][] = [];
  const failNext = { on: false };
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.readBatch = async (keys) => {
    batches.push(keys.map((k) => k.sk));
    if (failNext.on) {
      failNext.on = false;
      throw new Error("storage down");
    }
    return inner.rows.readBatch(keys);
  };
  return { store: { ...inner, rows }, batches, failNext };
}

async function seeded(n: number) {
  const { store, batches, failNext } = countingStore();
  const key = randomKey();
  const writer = new MessageStore(store, key);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const raw = Buffer.from(`Subject: m${i}\r\nFrom: a@example.org\r\n\r\nbody ${i}\r\n`);
    ids.push((await writer.add(raw, 1_700_000_000_000 + i)).mailId);
  }
  // A fresh store: nothing cached.
  return { messages: new MessageStore(store, key), ids, batches, failNext };
}

test("getMeta of ids being prefetched waits for that read: one storage read in all", async () => {
  const { messages, ids, batches } = await seeded(30);
  assert.equal(messages.prefetchMeta(ids.slice(0, 20)), true);
  const got = await messages.getMeta(ids.slice(5, 15));
  assert.deepEqual([...got.keys()], ids.slice(5, 15));
  assert.equal(got.get(ids[7]!)!.header.startsWith("Subject: m7"), true);
  assert.equal(batches.length, 1);
  // Cached now: neither a prefetch nor a getMeta reads them again.
  assert.equal(messages.prefetchMeta(ids.slice(0, 20)), false);
  await messages.getMeta(ids.slice(0, 20));
  assert.equal(batches.length, 1);
});

test("ids half prefetched, half not: both are read, each once, and only the asked ones come back", async () => {
  const { messages, ids, batches } = await seeded(30);
  messages.prefetchMeta(ids.slice(0, 10));
  const got = await messages.getMeta(ids.slice(5, 25));
  assert.deepEqual([...got.keys()].sort(), ids.slice(5, 25).sort());
  assert.equal(batches.length, 2);
  assert.deepEqual(batches[1], ids.slice(10, 25));
});

test("a failed prefetch is not an error: getMeta reads again", async () => {
  const { messages, ids, batches, failNext } = await seeded(10);
  failNext.on = true;
  messages.prefetchMeta(ids);
  const got = await messages.getMeta(ids);
  assert.equal(got.size, 10);
  assert.equal(batches.length, 2);
});
