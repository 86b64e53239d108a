/**
 * The local cache in front of a remote store (src/storage/cache/): two memory stores as remote and
 * cache, the remote behind a call counter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { withLocalCache, type CachePolicy, type CachedStore } from "../../src/storage/cache/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { counting, failingStore, type CountingStore } from "./localCacheSupport.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const policy: CachePolicy = { rowPartitions: ["meta"], blobPrefixes: ["mail/"] };

async function setUp(
  extra: Partial<CachePolicy> = {},
  cache: Store = memoryStore(),
): Promise<{ remote: CountingStore; cache: Store; store: CachedStore; logs: string[] }> {
  const remote = counting(memoryStore());
  const logs: string[] = [];
  const store = await withLocalCache(remote, cache, {
    ...policy,
    log: (level, message) => logs.push(`${level} ${message}`),
    ...extra,
  });
  return { remote, cache, store, logs };
}

test("a second read of meta rows makes no remote request and returns the remote's entries", async () => {
  const { remote, store } = await setUp();
  for (let i = 0; i < 20; i++) await remote.rows.insert("meta", `m${i}`, bytes(`meta ${i}`));
  const keys = Array.from({ length: 20 }, (_, i) => ({ pk: "meta", sk: `m${i}` }));
  const expected = await remote.rows.readBatch(keys);
  remote.reset();
  assert.deepEqual(await store.rows.readBatch(keys), expected);
  assert.equal(remote.total(), 1, "the misses go to the remote in one batch");
  await store.settle();
  remote.reset();
  assert.deepEqual(await store.rows.readBatch(keys), expected);
  assert.deepEqual(await store.rows.read("meta", "m3"), expected[3]);
  assert.equal(remote.total(), 0);
});

test("a batch mixing cached, missing and mutable rows asks the remote once for the rest only", async () => {
  const { remote, store } = await setUp();
  await remote.rows.insert("meta", "a", bytes("A"));
  await remote.rows.insert("meta", "b", bytes("B"));
  await remote.rows.insert("index/x", "1", bytes("op"));
  await store.rows.read("meta", "a");
  await store.settle();
  remote.reset();
  const keys = [
    { pk: "meta", sk: "a" },
    { pk: "meta", sk: "b" },
    { pk: "index/x", sk: "1" },
    { pk: "meta", sk: "absent" },
  ];
  assert.deepEqual(await store.rows.readBatch(keys), await remote.rows.readBatch(keys));
  assert.equal(remote.calls.get("rows.readBatch"), 2); // ours (3 keys) and the comparison
});

test("a second get of a mail/ blob, whole or by range, makes no remote request and equals the remote's bytes", async () => {
  const { remote, store } = await setUp();
  const body = randomBytes(10_000);
  await remote.blobs.put("mail/x", body);
  remote.reset();
  assert.deepEqual(await store.blobs.get("mail/x"), new Uint8Array(body));
  await store.settle();
  remote.reset();
  assert.deepEqual(await store.blobs.get("mail/x"), new Uint8Array(body));
  const ranges = [
    { start: 0, end: 0 },
    { start: 24, end: 4_119 },
    { start: 9_000 },
    { start: 9_990, end: 20_000 },
    { start: 10_000 },
    { start: 50_000, end: 60_000 },
  ];
  const local = await Promise.all(ranges.map((r) => store.blobs.get("mail/x", r)));
  assert.equal(remote.total(), 0, "every range was cut from the local copy");
  for (const [i, r] of ranges.entries()) assert.deepEqual(local[i], await remote.blobs.get("mail/x", r));
  assert.deepEqual(await store.blobs.head("mail/x"), await remote.blobs.head("mail/x"));
  await assert.rejects(store.blobs.get("mail/x", { start: 5, end: 4 }), /invalid byte range/);
});

test("a ranged get of an uncached blob goes to the remote and leaves no copy", async () => {
  const { remote, cache, store } = await setUp();
  await remote.blobs.put("mail/y", bytes("0123456789"));
  assert.deepEqual(await store.blobs.get("mail/y", { start: 2, end: 4 }), bytes("234"));
  await store.settle();
  assert.equal(await cache.blobs.get("mail/y"), null);
});

test("a put and an insert under the immutable names are local afterwards (write-through)", async () => {
  const { remote, store } = await setUp();
  await store.blobs.put("mail/new", bytes("sealed body"));
  await store.rows.insert("meta", "new", bytes("sealed meta"));
  await store.settle();
  remote.reset();
  assert.deepEqual(await store.blobs.get("mail/new"), bytes("sealed body"));
  const row = await store.rows.read("meta", "new");
  assert.equal(remote.total(), 0);
  // The token handed back is the remote's own, so a delete with it removes the row there.
  assert.deepEqual(row, await remote.rows.read("meta", "new"));
  await store.rows.delete("meta", "new", row!.token);
  assert.deepEqual((await remote.rows.read("meta", "new"))!.values, []);
});

test("mutable rows and blobs are never cached: a change on the remote is seen at once", async () => {
  const { remote, cache, store } = await setUp();
  await remote.rows.insert("index/m", "watch", bytes("v1"));
  await remote.blobs.put("keys/root", bytes("root v1"));
  await store.rows.read("index/m", "watch");
  await store.blobs.get("keys/root");
  await store.settle();
  const seen = (await remote.rows.read("index/m", "watch"))!;
  await remote.rows.insert("index/m", "watch", bytes("v2"), seen.token);
  await remote.blobs.put("keys/root", bytes("root v2"));
  assert.deepEqual((await store.rows.read("index/m", "watch"))!.values, [bytes("v2")]);
  assert.deepEqual(await store.blobs.get("keys/root"), bytes("root v2"));
  assert.equal(await cache.rows.read("index/m", "watch"), null);
  assert.equal(await cache.blobs.get("keys/root"), null);
});

test("a delete removes the row and the blob from the remote and from the cache", async () => {
  const { remote, cache, store } = await setUp();
  await store.blobs.put("mail/d", bytes("body"));
  await store.rows.insert("meta", "d", bytes("meta"));
  await store.settle();
  assert.ok(await cache.blobs.get("mail/d"));
  const row = (await store.rows.read("meta", "d"))!;
  await store.blobs.delete("mail/d");
  await store.rows.delete("meta", "d", row.token);
  // Seen at once, before the cache's own delete has landed.
  assert.equal(await store.blobs.get("mail/d"), null);
  assert.deepEqual(await store.rows.read("meta", "d"), await remote.rows.read("meta", "d"));
  await store.settle();
  assert.equal(await cache.blobs.get("mail/d"), null);
  assert.deepEqual((await cache.rows.read("meta", "d"))?.values ?? [], []);
  assert.equal(await remote.blobs.get("mail/d"), null);
});

test("a value read before a concurrent delete is never cached after it", async () => {
  const { remote, store } = await setUp();
  await remote.rows.insert("meta", "r", bytes("old"));
  await remote.blobs.put("mail/r", bytes("old body"));
  // The remote answers the reads with what it held when asked, but only once the deletes are done.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const realRead = remote.rows.read.bind(remote.rows);
  const realGet = remote.blobs.get.bind(remote.blobs);
  remote.rows.read = async (pk, sk) => {
    const answer = await realRead(pk, sk);
    await gate;
    return answer;
  };
  remote.blobs.get = async (key, range) => {
    const answer = await realGet(key, range);
    await gate;
    return answer;
  };
  const reading = Promise.all([store.rows.read("meta", "r"), store.blobs.get("mail/r")]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  const row = (await realRead("meta", "r"))!;
  await store.rows.delete("meta", "r", row.token);
  await store.blobs.delete("mail/r");
  open();
  const [oldRow, oldBody] = await reading;
  assert.deepEqual(oldRow!.values, [bytes("old")], "the reads did see the old values");
  assert.deepEqual(oldBody, bytes("old body"));
  await store.settle();
  assert.deepEqual((await store.rows.read("meta", "r"))!.values, []);
  assert.equal(await store.blobs.get("mail/r"), null);
});

test("a copy to a mail/ key is cached from the local copy; a range delete of meta clears the cache", async () => {
  const { remote, cache, store } = await setUp();
  await store.blobs.put("mail/from", bytes("same bytes"));
  await store.settle();
  await store.blobs.copy("mail/from", "mail/to");
  await store.settle();
  remote.reset();
  assert.deepEqual(await store.blobs.get("mail/to"), bytes("same bytes"));
  assert.equal(remote.total(), 0);
  for (const sk of ["a", "b", "c"]) await store.rows.insert("meta", sk, bytes(sk));
  await store.settle();
  assert.equal(await store.rows.deleteRange("meta", { start: "a", end: "c" }), 2);
  assert.deepEqual((await store.rows.read("meta", "a"))!.values, []);
  await store.settle();
  assert.deepEqual(
    (await cache.rows.readRange("meta")).items.map((e) => e.sk),
    ["c"],
  );
});

test("a failing cache never fails a read or a write, and is reported once", async () => {
  const broken = failingStore();
  const { remote, store, logs } = await setUp({}, broken);
  assert.equal(logs.length, 1, "counting the cached blobs at open failed");
  await store.blobs.put("mail/f", bytes("body"));
  await store.rows.insert("meta", "f", bytes("meta"));
  await remote.rows.insert("meta", "g", bytes("meta g"));
  assert.deepEqual(await store.blobs.get("mail/f"), bytes("body"));
  assert.deepEqual(await store.blobs.get("mail/f", { start: 1, end: 2 }), bytes("od"));
  assert.deepEqual(
    await store.rows.readBatch([
      { pk: "meta", sk: "f" },
      { pk: "meta", sk: "g" },
    ]),
    await remote.rows.readBatch([
      { pk: "meta", sk: "f" },
      { pk: "meta", sk: "g" },
    ]),
  );
  await store.settle();
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /^warn .*running without the cache/);
  assert.equal(store.cacheUsable, false);
});

test("a cache that fails after working is bypassed: reads go to the remote and still succeed", async () => {
  const cache = memoryStore();
  const { remote, store, logs } = await setUp({}, cache);
  await remote.rows.insert("meta", "x", bytes("meta"));
  await remote.blobs.put("mail/x", bytes("body"));
  await store.rows.read("meta", "x");
  await store.blobs.get("mail/x");
  await store.settle();
  cache.rows.readBatch = async () => {
    throw new Error("disk read error");
  };
  cache.blobs.get = async () => {
    throw new Error("disk read error");
  };
  remote.reset();
  assert.deepEqual((await store.rows.read("meta", "x"))!.values, [bytes("meta")]);
  assert.deepEqual(await store.blobs.get("mail/x"), bytes("body"));
  assert.equal(remote.total(), 2);
  assert.equal(logs.length, 1);
});

test("cached blob bytes stay under the budget, least recently used first out", async () => {
  const { remote, cache, store } = await setUp({ maxBytes: 3_000 });
  for (const name of ["a", "b", "c"]) await store.blobs.put(`mail/${name}`, randomBytes(1_000));
  await store.settle();
  await store.blobs.get("mail/a"); // now b is the least recently used
  await store.blobs.put("mail/d", randomBytes(1_000));
  await store.settle();
  assert.ok(store.cachedBlobBytes <= 3_000);
  assert.equal(await cache.blobs.head("mail/b"), null);
  for (const name of ["a", "c", "d"]) assert.ok(await cache.blobs.head(`mail/${name}`), name);
  await store.blobs.put("mail/huge", randomBytes(5_000)); // larger than the budget: not cached
  await store.settle();
  assert.equal(await cache.blobs.head("mail/huge"), null);
  assert.ok(store.cachedBlobBytes <= 3_000);
  remote.reset();
  assert.equal((await store.blobs.get("mail/b"))!.length, 1_000);
  assert.equal(remote.calls.get("blobs.get"), 1, "an evicted blob comes from the remote again");
});

test("copies found in the cache at open count against the budget", async () => {
  const cache = memoryStore();
  for (const name of ["a", "b", "c", "d"]) await cache.blobs.put(`mail/${name}`, randomBytes(1_000));
  const { store } = await setUp({ maxBytes: 2_500 }, cache);
  assert.equal(store.cachedBlobBytes, 2_000);
  assert.equal((await cache.blobs.list("mail/")).keys.length, 2);
});
