/** Mailbox.read: what each scope reads, in which batches, and what it reads ahead. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { MessageStore } from "../../src/mail/messageStore.ts";
import { Mailbox } from "../../src/mail/mailbox.ts";
import type { MailEntry } from "../../src/mail/uidIndex.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import type { Store } from "../../src/storage/types.ts";
import { sampleMessage } from "./mailFixtures.ts";

interface Counts {
  /** Message ids of each batched meta read, in order. */
  metaReads: string[][];
  /** Body blob GETs. */
  bodyGets: number;
}

function countingStore(): { store: Store; counts: Counts } {
  const inner = memoryStore();
  const counts: Counts = { metaReads: [], bodyGets: 0 };
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.readBatch = (keys) => {
    counts.metaReads.push(keys.map((k) => k.sk));
    return inner.rows.readBatch(keys);
  };
  const blobs = Object.create(inner.blobs) as Store["blobs"];
  blobs.get = (key, range) => {
    if (key.startsWith("mail/")) counts.bodyGets++;
    return inner.blobs.get(key, range);
  };
  return { store: { ...inner, rows, blobs }, counts };
}

/** `n` messages appended through one process, then the mailbox opened afresh (nothing cached). */
async function seeded(n: number) {
  const { store, counts } = countingStore();
  const metaKey = randomKey();
  const indexKey = randomKey();
  const writer = new Mailbox("m1", 7, store, indexKey, new MessageStore(store, metaKey));
  for (let i = 0; i < n; i++) await writer.append(sampleMessage(i), [], 1_700_000_000_000 + i);
  writer.close();
  const mailbox = new Mailbox("m1", 7, store, indexKey, new MessageStore(store, metaKey));
  await mailbox.sync();
  const entries = mailbox.index.uids.map((uid) => mailbox.index.byUid.get(uid)!);
  counts.metaReads.length = 0;
  counts.bodyGets = 0;
  return { mailbox, entries, counts };
}

test('scope "index" reads nothing from storage and hands out the entries in batches, in order', async () => {
  const { mailbox, entries, counts } = await seeded(7);
  const seen: [number, number[]][] = [];
  for await (const batch of mailbox.read(entries, { scope: "index", batchSize: 3 })) {
    assert.equal(batch.meta.size, 0);
    seen.push([batch.from, batch.entries.map((e) => e.uid)]);
  }
  assert.deepEqual(seen, [
    [0, [1, 2, 3]],
    [3, [4, 5, 6]],
    [6, [7]],
  ]);
  assert.deepEqual(counts, { metaReads: [], bodyGets: 0 });
});

test('scope "meta": one batched read per batch, the next one already running when a batch is handed out', async () => {
  const { mailbox, entries, counts } = await seeded(7);
  const ids = entries.map((e) => e.id);
  const readsWhenHandedOut: number[] = [];
  for await (const batch of mailbox.read(entries, { scope: "meta", batchSize: 3 })) {
    readsWhenHandedOut.push(counts.metaReads.length);
    assert.deepEqual(
      [...batch.meta.keys()],
      batch.entries.map((e) => e.id),
    );
    assert.equal(batch.meta.get(batch.entries[0]!.id)!.internalDate, 1_700_000_000_000 + batch.from);
  }
  assert.deepEqual(readsWhenHandedOut, [2, 3, 3]);
  assert.deepEqual(counts.metaReads, [ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
  assert.equal(counts.bodyGets, 0);
});

test("a message the caller's view still shows but the index no longer has reads nothing and keeps its place", async () => {
  const { mailbox, entries, counts } = await seeded(4);
  const withHole: (MailEntry | undefined)[] = [entries[0], undefined, entries[2], entries[3]];
  const froms: number[] = [];
  for await (const batch of mailbox.read(withHole, { scope: "meta", batchSize: 2 })) {
    froms.push(batch.from);
    assert.equal(batch.entries.length, 2);
    for (const e of batch.entries) if (e) assert.ok(batch.meta.has(e.id));
  }
  assert.deepEqual(froms, [0, 2]);
  assert.deepEqual(counts.metaReads, [[entries[0]!.id], [entries[2]!.id, entries[3]!.id]]);
});

test("scope \"body\": a batch's small bodies are in before its reader is handed out, the next batch's fetched meanwhile, each once", async () => {
  const { mailbox, entries, counts } = await seeded(5);
  const getsWhenHandedOut: number[] = [];
  const getsAfterWriting: number[] = [];
  for await (const batch of mailbox.read(entries, { scope: "body", batchSize: 3 })) {
    const read = await batch.bodies();
    getsWhenHandedOut.push(counts.bodyGets);
    for (const e of batch.entries) {
      const meta = batch.meta.get(e.id)!;
      const whole = Buffer.from(await read(meta, 0, meta.physicalSize)).toString("latin1");
      assert.ok(whole.includes(`report number ${e.uid - 1}`));
      assert.equal(Buffer.from(await read(meta, 0, 5)).toString("latin1"), "From:");
    }
    // The time FETCH takes to write the batch out: the next batch's bodies arrive meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 50));
    getsAfterWriting.push(counts.bodyGets);
  }
  assert.ok(
    getsWhenHandedOut[0]! >= 3,
    `${getsWhenHandedOut[0]} bodies in when the first batch was handed out`,
  );
  assert.deepEqual(getsAfterWriting, [5, 5], "the second batch's bodies were not fetched ahead");
  assert.equal(getsWhenHandedOut[1], 5, "a body fetched ahead was fetched again");
});

test('scope "meta" reads a body only when asked, and text() reads one message\'s text parts', async () => {
  const { mailbox, entries, counts } = await seeded(3);
  for await (const batch of mailbox.read(entries, { scope: "meta" })) {
    const read = await batch.bodies();
    assert.equal(counts.bodyGets, 0);
    const meta = batch.meta.get(entries[1]!.id)!;
    assert.equal(Buffer.from(await read(meta, 0, 5)).toString("latin1"), "From:");
    assert.equal(counts.bodyGets, 1);
    const text = await batch.text(meta);
    assert.match(text, /^Line 0 of message 1 mentions/);
    assert.equal(counts.bodyGets, 2);
  }
});

test("after a message list, prefetchFollowing reads the meta of the batch after it", async () => {
  const { mailbox, entries, counts } = await seeded(9);
  const ids = entries.map((e) => e.id);
  const reads = mailbox.read(entries.slice(0, 3), { scope: "meta", batchSize: 3 });
  for await (const batch of reads) assert.equal(batch.meta.size, 3);
  reads.prefetchFollowing();
  assert.deepEqual(counts.metaReads, [ids.slice(0, 3), ids.slice(3, 6)]);
  // The next list finds them read: no storage read.
  for await (const batch of mailbox.read(entries.slice(3, 6), { scope: "meta", batchSize: 3 }))
    assert.equal(batch.meta.size, 3);
  assert.equal(counts.metaReads.length, 2);
});

test("batchSize Infinity reads every meta in one batch", async () => {
  const { mailbox, entries, counts } = await seeded(4);
  let batches = 0;
  for await (const batch of mailbox.read(entries, { scope: "meta", batchSize: Infinity })) {
    batches++;
    assert.equal(batch.meta.size, 4);
  }
  assert.equal(batches, 1);
  assert.equal(counts.metaReads.length, 1);
});
