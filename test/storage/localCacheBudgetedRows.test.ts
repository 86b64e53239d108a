/**
 * Rows of a budgeted partition (CachePolicy.budgetedRowPartitions: the mail layer's body rows) are
 * kept in the cache's byte budget with the blobs (src/storage/cache/rowCopies.ts): bounded, least
 * recently used out first, none at a budget of 0, dropped when deleted, counted again at reopen.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { withLocalCache, type CachePolicy, type CachedStore } from "../../src/storage/cache/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { counting, type CountingStore } from "./localCacheSupport.ts";

// "body" named as a row partition too, as it was before budgeted rows: the budget takes precedence.
const policy: CachePolicy = {
  rowPartitions: ["meta", "body"],
  budgetedRowPartitions: ["body"],
  blobPrefixes: ["mail/"],
};
const ROW = 1_000;

async function setUp(
  maxBytes: number,
  cache: Store = memoryStore(),
  remote: CountingStore = counting(memoryStore()),
): Promise<{ remote: CountingStore; cache: Store; store: CachedStore }> {
  const store = await withLocalCache(remote, cache, { ...policy, maxBytes });
  return { remote, cache, store };
}

const sk = (i: number) => `id${String(i).padStart(3, "0")}`;
const key = (i: number) => ({ pk: "body", sk: sk(i) });

/** Every byte the cache store holds, rows and blobs. */
async function cacheBytes(cache: Store): Promise<number> {
  let n = 0;
  for (const k of (await cache.blobs.list("", undefined, 10_000)).keys)
    n += (await cache.blobs.head(k))!.size;
  for (const pk of ["body", "meta"])
    for (const item of (await cache.rows.readRange(pk)).items) for (const v of item.values) n += v.length;
  return n;
}

async function fill(remote: Store, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await remote.rows.insert("body", sk(i), randomBytes(ROW));
}

test("a small budget given many body rows stays under it and keeps the most recently used", async () => {
  const { remote, cache, store } = await setUp(10_000);
  await fill(remote, 40);
  for (let i = 0; i < 40; i++) {
    await store.rows.read("body", sk(i));
    await store.settle();
  }
  assert.ok(store.cachedBlobBytes <= 10_000, `${store.cachedBlobBytes} B counted`);
  assert.ok(store.cachedBlobBytes > 5 * ROW, `${store.cachedBlobBytes} B counted`);
  assert.ok((await cacheBytes(cache)) <= 10_000, `${await cacheBytes(cache)} B in the cache store`);
  assert.equal((await cache.rows.readRange("body")).items.length, 0, "kept as counted copies, not rows");
  remote.reset();
  const recent = [36, 37, 38, 39].map(key);
  assert.deepEqual(await store.rows.readBatch(recent), await remote.rows.readBatch(recent));
  remote.reset();
  await store.rows.readBatch(recent);
  assert.equal(remote.total(), 0, "the most recently read are still cached");
  await store.rows.read("body", sk(0));
  assert.equal(remote.total(), 1, "the least recently read went first");
  await store.close();
});

test("a read of a cached body row makes it the most recently used", async () => {
  const { remote, store } = await setUp(5 * (ROW + 64));
  await fill(remote, 6);
  for (let i = 0; i < 5; i++) await store.rows.read("body", sk(i));
  await store.settle();
  await store.rows.read("body", sk(0)); // now 1 is the least recently used
  await store.rows.read("body", sk(5));
  await store.settle();
  remote.reset();
  await store.rows.readBatch([0, 2, 3, 4, 5].map(key));
  assert.equal(remote.total(), 0);
  await store.rows.read("body", sk(1));
  assert.equal(remote.total(), 1);
  await store.close();
});

test("body rows and blobs share one budget", async () => {
  const { remote, cache, store } = await setUp(4_500);
  await fill(remote, 3);
  for (let i = 0; i < 3; i++) await store.rows.read("body", sk(i));
  await store.settle();
  for (const name of ["a", "b", "c"]) await store.blobs.put(`mail/${name}`, randomBytes(ROW));
  await store.settle();
  assert.ok(store.cachedBlobBytes <= 4_500);
  assert.ok((await cacheBytes(cache)) <= 4_500);
  assert.deepEqual(store.localCache.blobKeys(), ["mail/a", "mail/b", "mail/c"], "row copies are not blobs");
  await store.close();
});

test("a budget of 0 keeps no body row", async () => {
  const { remote, cache, store } = await setUp(0);
  await fill(remote, 5);
  const keys = [0, 1, 2, 3, 4].map(key);
  assert.deepEqual(await store.rows.readBatch(keys), await remote.rows.readBatch(keys));
  await store.rows.insert("body", "new", randomBytes(ROW));
  await store.settle();
  assert.equal(store.cachedBlobBytes, 0);
  assert.equal(await cacheBytes(cache), 0);
  await store.close();
});

test("a reopened cache finds its body row copies, counts them and serves them", async () => {
  const cache = memoryStore();
  const remote = counting(memoryStore());
  const first = await setUp(10_000, cache, remote);
  await fill(remote, 5);
  const keys = [0, 1, 2, 3, 4].map(key);
  const expected = await first.store.rows.readBatch(keys);
  await first.store.settle();
  const counted = first.store.cachedBlobBytes;
  assert.ok(counted >= 5 * ROW);
  // Closing the cached store closes both; reopen over the same two memory stores' contents.
  const again = await setUp(10_000, reopened(cache), remote);
  assert.equal(again.store.cachedBlobBytes, counted);
  assert.deepEqual(
    await again.store.localCache.rowKeys("body"),
    keys.map((k) => k.sk),
  );
  remote.reset();
  assert.deepEqual(await again.store.rows.readBatch(keys), expected);
  assert.equal(remote.total(), 0);
  const smaller = await setUp((3 * counted) / 5, reopened(cache), remote);
  assert.ok(smaller.store.cachedBlobBytes <= (3 * counted) / 5, "a smaller budget at reopen evicts");
  assert.ok((await cacheBytes(cache)) <= (3 * counted) / 5);
});

test("body rows an earlier version cached as rows are dropped at open", async () => {
  const cache = memoryStore();
  await cache.rows.insert("body", "old", randomBytes(ROW));
  await cache.rows.insert("meta", "kept", randomBytes(10));
  await setUp(10_000, cache);
  assert.equal((await cache.rows.readRange("body")).items.length, 0);
  assert.equal((await cache.rows.readRange("meta")).items.length, 1);
});

test("a body row deleted here, or forgotten as gone elsewhere, leaves the cache", async () => {
  const { remote, cache, store } = await setUp(10_000);
  await fill(remote, 4);
  const rows = await store.rows.readBatch([0, 1, 2, 3].map(key));
  await store.settle();
  assert.ok(store.cachedBlobBytes >= 4 * ROW);
  const deleted = rows[0]!;
  await store.rows.delete("body", deleted.sk, deleted.token); // an expunge here
  await store.localCache.forget([key(1)], []); // an expunge elsewhere, found by the caller
  await store.rows.deleteRange("body", { prefix: sk(2) });
  await store.settle();
  assert.deepEqual(await store.localCache.rowKeys("body"), [sk(3)]);
  assert.equal((await cache.blobs.list("", undefined, 100)).keys.length, 1);
  assert.ok(store.cachedBlobBytes < 2 * ROW);
  assert.equal(await remote.rows.read("body", sk(0)).then((e) => e?.values.length ?? 0), 0);
  await store.close();
});

/** The same contents behind a store whose close() does nothing (a reopen of the same folder). */
function reopened(store: Store): Store {
  return { ...store, close: async () => {} };
}
