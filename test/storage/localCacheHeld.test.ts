/**
 * The local cache's copies of what is written through wait for the caller's lull
 * (LocalCache.holdCopiesUntil): two memory stores as remote and cache, the lull a gate the test
 * opens.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { withLocalCache, type CachedStore } from "../../src/storage/cache/index.ts";
import { HELD_BYTES } from "../../src/storage/cache/cachedBlobs.ts";
import type { Store } from "../../src/storage/types.ts";
import { counting, type CountingStore } from "./localCacheSupport.ts";

interface Held {
  remote: CountingStore;
  cache: Store;
  store: CachedStore;
  /** Times the cache asked whether the caller is quiet. */
  asked: () => number;
  open: () => void;
}

async function setUp(): Promise<Held> {
  const remote = counting(memoryStore());
  const cache = memoryStore();
  const store = await withLocalCache(remote, cache, { rowPartitions: ["meta"], blobPrefixes: ["mail/"] });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let asked = 0;
  store.localCache.holdCopiesUntil(() => {
    asked += 1;
    return gate;
  });
  return { remote, cache, store, asked: () => asked, open };
}

/** Lets the cache's background writes run (memory stores: a few turns of the event loop). */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

test("a body written through is held until the caller is quiet, and read from memory meanwhile", async () => {
  const { remote, cache, store, asked, open } = await setUp();
  const body = randomBytes(5_000);
  await store.blobs.put("mail/a", body);
  await store.blobs.put("mail/b", randomBytes(100));
  await turns();
  assert.equal(await cache.blobs.get("mail/a"), null, "not written before the lull");
  assert.equal(asked(), 1, "one waiter for every held copy");
  remote.reset();
  assert.deepEqual(await store.blobs.get("mail/a"), new Uint8Array(body));
  assert.deepEqual(
    await store.blobs.get("mail/a", { start: 10, end: 19 }),
    new Uint8Array(body.subarray(10, 20)),
  );
  assert.deepEqual(await store.blobs.head("mail/a"), { size: 5_000 });
  assert.equal(store.localCache.hasBlob("mail/a"), true);
  assert.equal(remote.total(), 0, "served from the held copy");
  // What a caller does to the bytes it was handed never reaches the copy.
  (await store.blobs.get("mail/a"))!.fill(0);
  assert.deepEqual(await store.blobs.get("mail/a"), new Uint8Array(body));
  open();
  await turns();
  assert.deepEqual(await cache.blobs.get("mail/a"), new Uint8Array(body));
  assert.ok(await cache.blobs.get("mail/b"));
  assert.equal(store.cachedBlobBytes, 5_100);
});

test("a held copy whose blob is deleted or forgotten meanwhile is never written", async () => {
  const { cache, store, open } = await setUp();
  await store.blobs.put("mail/gone", randomBytes(1_000));
  await store.blobs.put("mail/elsewhere", randomBytes(1_000));
  await store.blobs.delete("mail/gone");
  await store.localCache.forget([], ["mail/elsewhere"]);
  assert.equal(await store.blobs.get("mail/gone"), null);
  assert.equal(store.localCache.hasBlob("mail/elsewhere"), false, "a forgotten copy is not served");
  open();
  await store.settle();
  assert.equal(await cache.blobs.get("mail/gone"), null);
  assert.equal(await cache.blobs.get("mail/elsewhere"), null);
  assert.equal(store.cachedBlobBytes, 0);
});

test("settle writes the held copies without waiting for the lull; past the cap they are written at once", async () => {
  const { cache, store } = await setUp();
  const piece = 1024 * 1024;
  const count = HELD_BYTES / piece;
  for (let i = 0; i <= count; i++)
    await store.blobs.put(`mail/${String(i).padStart(3, "0")}`, randomBytes(piece));
  await turns();
  assert.equal(await cache.blobs.get("mail/000"), null, "held");
  assert.ok(await cache.blobs.get(`mail/${String(count).padStart(3, "0")}`), "past the cap: written at once");
  await store.settle();
  assert.ok(await cache.blobs.get("mail/000"));
  assert.equal(store.cachedBlobBytes, (count + 1) * piece);
});

test("rows inserted are read back at the caller's lull, not while it is busy", async () => {
  const { remote, cache, store, open } = await setUp();
  await store.rows.insert("meta", "m1", new TextEncoder().encode("sealed meta"));
  remote.reset();
  // The read-back is due a second after the insert.
  await new Promise((resolve) => setTimeout(resolve, 1_300));
  assert.equal(remote.calls.get("rows.readBatch") ?? 0, 0, "no read-back before the lull");
  open();
  for (let i = 0; i < 50 && !(await cache.rows.read("meta", "m1")); i++) await turns();
  assert.equal(remote.calls.get("rows.readBatch"), 1);
  assert.deepEqual((await cache.rows.read("meta", "m1"))?.values.length, 1);
});

test("a caller waiting for room for many copies gets the held ones written, not left to the lull", async () => {
  const { cache, store } = await setUp();
  await store.blobs.put("mail/held", randomBytes(1_000));
  // As the meta read ahead at SELECT asks (metaAhead.ts): room for the whole queue.
  const room = store.localCache.roomFor(2_000).then(() => "room");
  const late = new Promise((resolve) => setTimeout(() => resolve("still waiting after 2 s"), 2_000));
  assert.equal(await Promise.race([room, late]), "room");
  assert.ok(await cache.blobs.get("mail/held"));
});

test("a copy of what a read fetched waits for the caller's lull, and later reads are served from memory meanwhile", async () => {
  const { remote, cache, store, open } = await setUp();
  const body = randomBytes(3_000);
  const row = new TextEncoder().encode("sealed meta");
  await remote.blobs.put("mail/read", body);
  await remote.rows.insert("meta", "m1", row);
  remote.reset();
  assert.deepEqual(await store.blobs.get("mail/read"), new Uint8Array(body));
  assert.deepEqual((await store.rows.readBatch([{ pk: "meta", sk: "m1" }]))[0]?.values, [row]);
  await turns();
  assert.equal(await cache.blobs.get("mail/read"), null, "a read's blob copy written before the lull");
  assert.equal(await cache.rows.read("meta", "m1"), null, "a read's row copy written before the lull");
  // Neither is read from the remote again while its copy waits, nor asked for by a read ahead.
  assert.deepEqual(await store.blobs.get("mail/read"), new Uint8Array(body));
  assert.deepEqual(
    await store.blobs.get("mail/read", { start: 100, end: 199 }),
    new Uint8Array(body.subarray(100, 200)),
  );
  assert.deepEqual((await store.rows.read("meta", "m1"))?.values, [row]);
  assert.deepEqual(await store.localCache.uncachedRows("meta", ["m1"]), []);
  assert.equal(remote.total(), 2, "read from the remote once each");
  open();
  for (let i = 0; i < 50 && !(await cache.rows.read("meta", "m1")); i++) await turns();
  assert.deepEqual(await cache.blobs.get("mail/read"), new Uint8Array(body));
  assert.ok(await cache.rows.read("meta", "m1"));
  assert.equal(store.cachedBlobBytes, 3_000);
});

test("a read's copy still waiting for the lull is never written once forgotten or changed", async () => {
  const { remote, cache, store, open } = await setUp();
  await remote.blobs.put("mail/forgotten", randomBytes(500));
  await remote.blobs.put("mail/deleted", randomBytes(500));
  await remote.rows.insert("meta", "gone", new TextEncoder().encode("row"));
  await store.blobs.get("mail/forgotten");
  await store.blobs.get("mail/deleted");
  await store.rows.read("meta", "gone");
  await store.localCache.forget([{ pk: "meta", sk: "gone" }], ["mail/forgotten"]);
  await store.blobs.delete("mail/deleted");
  open();
  await store.settle();
  assert.equal(await cache.blobs.get("mail/forgotten"), null);
  assert.equal(await cache.blobs.get("mail/deleted"), null);
  assert.equal(await cache.rows.read("meta", "gone"), null);
  assert.equal(store.cachedBlobBytes, 0);
});
