/**
 * The background fill of the local cache (mail/cacheFill.ts): a second computer (B) opens, through
 * a local cache, an account that another computer (A) filled on a shared remote. The fill copies
 * every meta row and the newest bodies that fit under the cap, drops copies of messages A expunged,
 * and steps aside while a client works.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { BODY_ROW_PK, CACHEABLE, META_PK } from "../../src/mail/messageLayout.ts";
import { withLocalCache, type CachedStore } from "../../src/storage/cache/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { counting, type CountingStore } from "../storage/localCacheSupport.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "correct horse battery";
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
/**
 * A fill's start waits for the client's first commands (500 ms, then as long without client work):
 * no client here but the one a test plays, so 20 ms; the test of a client's read in flight holds
 * its read across the whole wait.
 */
const QUICK = { startQuietMs: 20 };

interface Computers {
  remote: CountingStore;
  cacheBackend: Store;
  a: Account;
  /** INBOX ids in date order, oldest first. */
  ids: string[];
  open(maxBytes?: number): Promise<{ store: CachedStore; b: Account }>;
  close(): Promise<void>;
}

/**
 * A fills INBOX with `count` messages, one day apart, oldest first; B opens with its cache. With
 * `largeRowBytes` the remote takes large rows, as Garage does, and the bodies go to body rows.
 */
async function twoComputers(count: number, largeRowBytes?: number): Promise<Computers> {
  const shared = memoryStore(largeRowBytes ? { largeRowBytes } : {});
  const remote = counting(shared);
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await inbox.append(sampleMessage(i, { bodyLines: 20 + i }), [], T0 + i * DAY)).mailId);
  const cacheBackend = memoryStore();
  let opened: { store: CachedStore; b: Account } | undefined;
  return {
    remote,
    cacheBackend,
    a,
    ids,
    async open(maxBytes?: number) {
      const store = await withLocalCache(remote, cacheBackend, {
        ...CACHEABLE,
        ...(maxBytes !== undefined ? { maxBytes } : {}),
      });
      const b = await openAccount(store, PASSWORD);
      opened = { store, b };
      return opened;
    },
    async close() {
      await opened?.b.close();
      await a.close();
      await opened?.store.close(); // closes the shared remote too
    },
  };
}

async function cachedBodies(cache: Store): Promise<string[]> {
  return (await cache.blobs.list("mail/")).keys.map((k) => k.slice("mail/".length));
}
async function cachedMeta(cache: Store): Promise<string[]> {
  return (await cache.rows.readRange("meta")).items.map((r) => r.sk);
}

test("the fill caches every meta row and body, and later reads of them make no remote request", async () => {
  const c = await twoComputers(30);
  try {
    const { store, b } = await c.open();
    const fill = new CacheFill(b, store.localCache, QUICK);
    await fill.start();
    const s = fill.status();
    assert.equal(s.state, "done", s.error);
    assert.equal(s.messages, 30);
    assert.equal(s.metaCached, 30);
    assert.equal(s.bodiesWanted, 30);
    assert.equal(s.bodiesCached, 30);
    assert.equal(s.bytesCached, s.bytesWanted);
    assert.ok(s.bytesCached > 30 * 1000, `${s.bytesCached} bytes`);
    assert.deepEqual((await cachedMeta(c.cacheBackend)).sort(), [...c.ids].sort());
    assert.deepEqual((await cachedBodies(c.cacheBackend)).sort(), [...c.ids].sort());

    c.remote.reset();
    const inbox = await b.mailbox("INBOX");
    const metas = await b.messages.getMeta(c.ids);
    for (const id of c.ids) await b.messages.body(metas.get(id)!);
    assert.equal(c.remote.calls.get("blobs.get") ?? 0, 0, "bodies come from the cache");
    assert.equal(c.remote.calls.get("rows.readBatch") ?? 0, 0, "meta comes from the cache");
    assert.equal(inbox.index.uids.length, 30);
    await fill.close();
  } finally {
    await c.close();
  }
});

test("the fill keeps under the cap, takes the newest bodies, and with cacheFill meta takes none", async () => {
  const c = await twoComputers(20);
  try {
    // Bodies are 4-5 KiB sealed here: a 40 KiB cap holds the newest eight or so.
    const { store, b } = await c.open(40_000);
    const fill = new CacheFill(b, store.localCache, QUICK);
    await fill.start();
    const s = fill.status();
    assert.equal(s.state, "done", s.error);
    assert.ok(s.bodiesWanted > 3 && s.bodiesWanted < 20, `${s.bodiesWanted} bodies wanted`);
    assert.ok(store.localCache.blobBytes <= 40_000);
    const cached = new Set(await cachedBodies(c.cacheBackend));
    const newest = c.ids.slice(-s.bodiesWanted);
    assert.deepEqual([...cached].sort(), [...newest].sort(), "exactly the newest that fit");
    assert.equal(s.metaCached, 20, "every meta row whatever the cap");
    await fill.close();

    // A new message arrives from A: the next pass takes it and evicts the oldest cached body.
    const inboxA = await c.a.mailbox("INBOX");
    const fresh = (await inboxA.append(sampleMessage(99, { bodyLines: 40 }), [], T0 + 100 * DAY)).mailId;
    const again = new CacheFill(b, store.localCache, QUICK);
    await again.start();
    const after = new Set(await cachedBodies(c.cacheBackend));
    assert.ok(after.has(fresh), "the new message's body is cached");
    assert.ok(!after.has(newest[0]!), "the least recently used (oldest) body was evicted");
    assert.ok(store.localCache.blobBytes <= 40_000);
    await again.close();
  } finally {
    await c.close();
  }
  const m = await twoComputers(5);
  try {
    const { store, b } = await m.open();
    const fill = new CacheFill(b, store.localCache, { ...QUICK, mode: "meta" });
    await fill.start();
    assert.equal(fill.status().metaCached, 5);
    assert.deepEqual(await cachedBodies(m.cacheBackend), [], "meta only: no body fetched");
    assert.equal((await cachedMeta(m.cacheBackend)).length, 5);
    await fill.close();
  } finally {
    await m.close();
  }
});

test("copies of messages expunged on another computer leave the cache at the next pass", async () => {
  const c = await twoComputers(12);
  try {
    const { store, b } = await c.open();
    const fill = new CacheFill(b, store.localCache, QUICK);
    await fill.start();
    assert.equal((await cachedBodies(c.cacheBackend)).length, 12);
    const gone = c.ids.slice(0, 5);
    await (await c.a.mailbox("INBOX")).expunge(gone);
    await fill.start();
    await store.settle();
    const bodies = await cachedBodies(c.cacheBackend);
    const meta = await cachedMeta(c.cacheBackend);
    for (const id of gone) {
      assert.ok(!bodies.includes(id), `body of ${id} dropped`);
      assert.ok(!meta.includes(id), `meta of ${id} dropped`);
    }
    assert.equal(bodies.length, 7);
    assert.equal(meta.length, 7);
    assert.equal(fill.status().dropped, 5);
    await fill.close();

    // A fill in a later run (nothing remembered) finds leftovers by listing the cache.
    await c.cacheBackend.blobs.put("mail/leftover", new Uint8Array(10));
    await c.cacheBackend.rows.insert("meta", "leftover", new Uint8Array(10));
    const later = await withLocalCache(memoryStore(), c.cacheBackend, CACHEABLE);
    assert.ok(later.localCache.hasBlob("mail/leftover"));
    const laterFill = new CacheFill(b, later.localCache, QUICK);
    await laterFill.start();
    await later.localCache.settle();
    assert.ok(!(await cachedBodies(c.cacheBackend)).includes("leftover"));
    assert.ok(!(await cachedMeta(c.cacheBackend)).includes("leftover"));
    await laterFill.close();
  } finally {
    await c.close();
  }
});

test("the fill waits while a client's read is in flight, then finishes", async () => {
  const c = await twoComputers(6);
  try {
    const { store, b } = await c.open();
    let release!: () => void;
    const client = b.messages.activity.track(new Promise<void>((resolve) => (release = resolve)));
    c.remote.reset();
    const fill = new CacheFill(b, store.localCache, QUICK);
    const done = fill.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(c.remote.calls.get("blobs.get") ?? 0, 0, "no body fetched while the client works");
    assert.equal(c.remote.calls.get("rows.readBatch") ?? 0, 0, "no meta read while the client works");
    release();
    await client;
    await done;
    assert.equal(fill.status().bodiesCached, 6);
    await fill.close();
  } finally {
    await c.close();
  }
});

test("a cache that stops working ends the fill as failed, with the reason in its status", async () => {
  const c = await twoComputers(3);
  try {
    const { store, b } = await c.open();
    await store.close(); // closes the cache (and the remote): the cache is no longer usable
    const fill = new CacheFill(b, store.localCache, QUICK);
    await fill.start();
    const s = fill.status();
    assert.equal(s.state, "failed");
    assert.match(s.error ?? "", /stopped working/);
    await fill.close();
  } finally {
    await c.close();
  }
});

/** Every byte the cache store holds: blobs (row copies among them) and rows. */
async function cacheStoreBytes(cache: Store): Promise<number> {
  let n = 0;
  for (const key of (await cache.blobs.list("", undefined, 10_000)).keys)
    n += (await cache.blobs.head(key))!.size;
  for (const pk of [META_PK, BODY_ROW_PK])
    for (const item of (await cache.rows.readRange(pk)).items) for (const v of item.values) n += v.length;
  return n;
}

test("body rows a fill or a client reads stay under the cap, and leave when expunged elsewhere", async () => {
  const c = await twoComputers(20, 80 * 1024);
  try {
    const { store, b } = await c.open(40_000);
    assert.equal((await c.remote.blobs.list("mail/")).keys.length, 0, "the bodies are rows");
    const metaBytes = async () => {
      let n = 0;
      for (const item of (await c.cacheBackend.rows.readRange(META_PK)).items) n += item.values[0]!.length;
      return n;
    };
    const fill = new CacheFill(b, store.localCache, QUICK);
    await fill.start();
    const s = fill.status();
    assert.equal(s.state, "done", s.error);
    assert.ok(s.bodiesWanted > 3 && s.bodiesWanted < 20, `${s.bodiesWanted} bodies wanted`);
    assert.ok(store.localCache.blobBytes <= 40_000, `${store.localCache.blobBytes} B counted`);
    assert.ok((await cacheStoreBytes(c.cacheBackend)) - (await metaBytes()) <= 40_000);
    const newest = c.ids.slice(-s.bodiesWanted);
    c.remote.reset();
    const metas = await b.messages.getMeta(newest);
    for (const id of newest) await b.messages.body(metas.get(id)!);
    assert.equal(c.remote.total(), 0, "the newest bodies come from the cache");

    // A client reads every body: the cache still keeps only the cap's worth.
    const all = await b.messages.getMeta(c.ids);
    for (const id of c.ids) await b.messages.body(all.get(id)!);
    await store.settle();
    assert.ok(store.localCache.blobBytes <= 40_000, `${store.localCache.blobBytes} B counted`);
    assert.ok((await cacheStoreBytes(c.cacheBackend)) - (await metaBytes()) <= 40_000);

    const kept = await store.localCache.rowKeys(BODY_ROW_PK);
    assert.ok(kept.length > 3, `${kept.length} body rows cached`);
    await (await c.a.mailbox("INBOX")).expunge(kept);
    await fill.start();
    await store.settle();
    // The pass drops their copies, then fills the room with the newest bodies still live.
    const after = await store.localCache.rowKeys(BODY_ROW_PK);
    for (const id of kept) assert.ok(!after.includes(id), `copy of ${id} dropped`);
    assert.ok(after.length > 0);
    assert.ok(fill.status().dropped >= kept.length);
    assert.ok(store.localCache.blobBytes <= 40_000);
    await fill.close();
  } finally {
    await c.close();
  }
});
