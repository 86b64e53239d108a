/**
 * A second computer's first SELECT of a mailbox starts reading all of its meta rows into the local
 * cache (mail/metaAhead.ts, through the cache fill), so that the client's header list, chunk by
 * chunk, finds them cached or joins the reads in flight: no row is read from the remote twice, and
 * a computer that has them reads none again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill, type CacheFillMode } from "../../src/mail/cacheFill.ts";
import { CACHEABLE, META_PK } from "../../src/mail/messageLayout.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { RowStore, Store } from "../../src/storage/types.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "correct horse battery";
const COUNT = 450;

/** Row reads that take `ms`, as across a link, counting the meta rows each batch asks for. */
function metaReads(store: Store, ms: number): { store: Store; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const readBatch = store.rows.readBatch.bind(store.rows);
  const rows: RowStore = Object.assign(Object.create(store.rows) as RowStore, {
    readBatch: async (keys: { pk: string; sk: string }[]) => {
      for (const k of keys) if (k.pk === META_PK) reads.set(k.sk, (reads.get(k.sk) ?? 0) + 1);
      await delay(ms);
      return readBatch(keys);
    },
  });
  return { store: { ...store, rows }, reads };
}

/** Computer A fills INBOX; B opens the account through a local cache (`cache`: cold if new). */
async function secondComputer(shared: Store, cache: Store, mode: CacheFillMode = "all") {
  const remote = metaReads(shared, 30);
  const local = metaReads(cache, 0);
  const store = await withLocalCache(remote.store, local.store, CACHEABLE);
  const b = await openAccount(store, PASSWORD);
  const fill = new CacheFill(b, store.localCache, { mode, rescanMs: 3_600_000 });
  return {
    b,
    store,
    remoteReads: remote.reads,
    localReads: local.reads,
    close: async () => {
      await fill.close();
      await b.close();
      await store.close();
    },
  };
}

async function sharedAccount(): Promise<Store> {
  const shared = memoryStore();
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < COUNT; i++) await inbox.append(sampleMessage(i, { bodyLines: 2 }), [], Date.now());
  await a.close();
  return shared;
}

/** The client's header list: the meta of every message, 200 at a time, oldest first. */
async function listHeaders(b: Awaited<ReturnType<typeof openAccount>>): Promise<number> {
  const { shown } = (await b.mailbox("INBOX")).index;
  const ids = Array.from({ length: shown.size }, (_, i) => shown.idAt(i));
  let found = 0;
  for (let i = 0; i < ids.length; i += 200) found += (await b.messages.getMeta(ids.slice(i, i + 200))).size;
  return found;
}

const total = (reads: Map<string, number>) => [...reads.values()].reduce((a, b) => a + b, 0);

test("a first SELECT reads every meta row ahead; the header list right after reads each from the remote once", async () => {
  const c = await secondComputer(await sharedAccount(), memoryStore());
  try {
    const { opened } = await c.b.mailboxOpened("INBOX");
    assert.ok(opened);
    assert.equal(await listHeaders(c.b), COUNT);
    assert.equal(c.remoteReads.size, COUNT);
    assert.equal(total(c.remoteReads), COUNT, "a meta row was read from the remote twice");
  } finally {
    await c.close();
  }
});

for (const mode of ["all", "meta"] as const) {
  test(`with cacheFill ${mode}, the meta rows are cached before the client asks: its list reads none remotely`, async () => {
    const c = await secondComputer(await sharedAccount(), memoryStore(), mode);
    try {
      await c.b.mailboxOpened("INBOX");
      for (let i = 0; i < 200 && c.remoteReads.size < COUNT; i++) await delay(10);
      await c.store.settle();
      assert.equal(c.remoteReads.size, COUNT, "the first SELECT did not read every meta row");
      const before = total(c.remoteReads);
      assert.equal(await listHeaders(c.b), COUNT);
      assert.equal(total(c.remoteReads), before, "the client's list read a meta row from the remote");
    } finally {
      await c.close();
    }
  });
}

test("a computer whose cache holds the rows reads none of them at SELECT, remote or local", async () => {
  const shared = await sharedAccount();
  const cache = memoryStore();
  const first = await secondComputer(shared, cache);
  try {
    await first.b.mailboxOpened("INBOX");
    assert.equal(await listHeaders(first.b), COUNT);
    await first.store.settle();
  } finally {
    await first.close();
  }
  // "meta": the newest bodies' own meta read (mode "all") is not what this test is about.
  const again = await secondComputer(shared, cache, "meta");
  try {
    await again.b.mailboxOpened("INBOX");
    await delay(200);
    assert.equal(total(again.remoteReads), 0);
    assert.equal(total(again.localReads), 0, "the rows were read from the cache to learn it holds them");
  } finally {
    await again.close();
  }
});
