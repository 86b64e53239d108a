/**
 * The local cache in its own folder (openLocalCache over the embedded backend): what a second run
 * finds there, two processes at once, and deleting the folder.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { cacheFolderOf, openLocalCache, type CachePolicy } from "../../src/storage/cache/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { counting } from "./localCacheSupport.ts";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agl-cache-dir-"));
  dirs.push(dir);
  return dir;
}

/** One remote shared by several "runs"; closing a run's store must not empty it. */
function sharedRemote(): Store {
  const store = memoryStore();
  return { ...store, close: async () => {} };
}

/** The policy cli/home.ts passes, with its log lines collected. */
function loggingPolicy(): { logs: string[]; policy: CachePolicy } {
  const logs: string[] = [];
  const policy: CachePolicy = {
    rowPartitions: ["meta"],
    blobPrefixes: ["mail/"],
    log: (level, message) => logs.push(`${level} ${message}`),
  };
  return { logs, policy };
}

test("a second run on the same cache folder reads meta rows and bodies without the remote", async () => {
  const cacheDir = await tempDir();
  const { logs, policy } = loggingPolicy();
  const remote = sharedRemote();
  const settings = { cacheDir, remoteId: "garage\nhttp://127.0.0.1:3900\nmail" };
  const first = await openLocalCache(remote, settings, policy);
  const body = randomBytes(50_000);
  await first.blobs.put("mail/1", body);
  for (let i = 0; i < 30; i++) await first.rows.insert("meta", `id${i}`, randomBytes(300));
  await first.close(); // reads back the rows inserted last before it closes
  const keys = Array.from({ length: 30 }, (_, i) => ({ pk: "meta", sk: `id${i}` }));

  const counted = counting(remote);
  const second = await openLocalCache(counted, settings, policy);
  try {
    assert.deepEqual(await second.rows.readBatch(keys), await remote.rows.readBatch(keys));
    assert.deepEqual(await second.blobs.get("mail/1"), new Uint8Array(body));
    assert.deepEqual(
      await second.blobs.get("mail/1", { start: 100, end: 199 }),
      new Uint8Array(body.subarray(100, 200)),
    );
    assert.equal(counted.total(), 0, [...counted.calls.keys()].join(", "));
    assert.deepEqual(logs, []);
  } finally {
    await second.close();
  }
});

test("a cache folder in use by another process: the command runs without a cache and says so", async () => {
  const cacheDir = await tempDir();
  const { logs, policy } = loggingPolicy();
  const remote = sharedRemote();
  const settings = { cacheDir, remoteId: "s3\nhttp://127.0.0.1:3900\nmail" };
  const holder = await openLocalCache(remote, settings, policy);
  try {
    const second = await openLocalCache(remote, settings, policy);
    assert.equal(second, remote, "the remote store itself, uncached");
    assert.equal(logs.length, 1);
    assert.match(
      logs[0]!,
      /^info local cache .* is in use by another aerogramme-local process; running without it/,
    );
    await second.rows.insert("meta", "x", new Uint8Array([1]));
    assert.deepEqual((await holder.rows.read("meta", "x"))!.values, [new Uint8Array([1])]);
  } finally {
    await holder.close();
  }
});

test("deleting the cache folder between runs loses nothing", async () => {
  const cacheDir = await tempDir();
  const policy: CachePolicy = { rowPartitions: ["meta"], blobPrefixes: ["mail/"] };
  const remote = sharedRemote();
  const settings = { cacheDir, remoteId: "garage\nhttp://h\nb" };
  const first = await openLocalCache(remote, settings, policy);
  await first.blobs.put("mail/a", new Uint8Array([1, 2, 3]));
  await first.rows.insert("meta", "a", new Uint8Array([4]));
  await first.close();
  assert.deepEqual(await readdir(cacheDir), [cacheFolderOf(settings).slice(cacheDir.length + 1)]);
  await rm(cacheDir, { recursive: true });
  const second = await openLocalCache(remote, settings, policy);
  try {
    assert.deepEqual(await second.blobs.get("mail/a"), new Uint8Array([1, 2, 3]));
    assert.deepEqual((await second.rows.read("meta", "a"))!.values, [new Uint8Array([4])]);
  } finally {
    await second.close();
  }
});

test("different remotes get different cache folders", () => {
  const a = cacheFolderOf({ cacheDir: "/c", remoteId: "garage\nhttp://h:3900\nhttp://h:3904\nmail" });
  const b = cacheFolderOf({ cacheDir: "/c", remoteId: "garage\nhttp://h:3900\nhttp://h:3904\nother" });
  assert.notEqual(a, b);
  assert.ok(a.startsWith("/c/"));
});
