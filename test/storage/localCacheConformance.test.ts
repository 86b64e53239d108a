/**
 * The storage conformance suite over a cached store: the cache must be invisible, so the tests that
 * hold every backend to one behaviour run here with everything treated as cacheable (every
 * partition, every blob key), which exercises the invalidation on every kind of write. The suite
 * takes its backends from test/storage/backends.ts; this file replaces that list before loading the
 * suite (node --test runs each test file in a process of its own).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { withLocalCache, type CachedStore } from "../../src/storage/cache/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { backends, type BackendUnderTest } from "./backends.ts";

const everything = { rowPartitions: () => true, blobPrefixes: () => true };

function cached(
  name: string,
  openCache: () => Promise<{ cache: Store; remove: () => Promise<void> }>,
): BackendUnderTest {
  return {
    name,
    skip: () => false,
    open: async () => {
      const { cache, remove } = await openCache();
      // No `reopen`: a second handle would change rows behind this one's cache, which is exactly
      // what the policy promises never happens to cached names.
      const store = await withLocalCache(memoryStore(), cache, { ...everything, maxBytes: 64 * 1024 });
      return {
        store: settling(store),
        cleanup: async () => {
          await store.close();
          await remove();
        },
      };
    },
    pollSlackMs: 100,
  };
}

/**
 * Each call returns only once the copies it started are in the cache, so the next call of a test
 * meets a filled cache (back to back, a copy would seldom land before the next write made it stale).
 */
function settling(store: CachedStore): Store {
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          } finally {
            await store.settle();
          }
        };
      },
    });
  return { blobs: wrap(store.blobs), rows: wrap(store.rows), close: () => store.close() };
}

backends.splice(
  0,
  backends.length,
  cached("memory cached in memory", async () => ({ cache: memoryStore(), remove: async () => {} })),
  cached("memory cached in an embedded folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agl-cache-conf-"));
    return { cache: await openEmbeddedStore(dir), remove: () => rm(dir, { recursive: true, force: true }) };
  }),
);

await import("./conformance.test.ts");
