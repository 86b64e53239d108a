/**
 * A Store that answers like `remote` but keeps copies of immutable rows and blobs in `cache` (the
 * local encrypted cache of DESIGN.md §7). What the mail layer stores is sealed before it reaches
 * storage, so the copies are as encrypted as the remote's objects: no new crypto here.
 *
 * Every result is the remote's, byte for byte: a copy is only ever made of what the remote
 * returned (or of what was just written to it), and only of objects that never change once
 * written (`policy`). Reads and writes never fail because of the cache; see cacheWriter.ts.
 */
import type { BlobStore, LocalCache, Store } from "../types.ts";
import { BlobBudget } from "./blobBudget.ts";
import { CachedBlobStore } from "./cachedBlobs.ts";
import { CachedRowStore } from "./cachedRows.ts";
import { cacheRules, type CachePolicy } from "./cachePolicy.ts";
import { CacheWriter } from "./cacheWriter.ts";
import { isRowCopy, ROW_COPY_PREFIX, RowCopies, rowCopyKey } from "./rowCopies.ts";

export interface LocalCacheOptions {
  /** Names the cache in log lines (its folder). */
  name?: string;
  /** How long close() waits for copies still being written (default 5 s); the rest is dropped. */
  closeWaitMs?: number;
}

export interface CachedStore extends Store {
  readonly localCache: LocalCache;
  /** False once the cache failed (it is then bypassed). */
  readonly cacheUsable: boolean;
  /** Bytes of cached blobs and budgeted rows, as counted against the budget. */
  readonly cachedBlobBytes: number;
  /** Resolves once every copy started so far is in the cache (or was dropped). */
  settle(): Promise<void>;
}

/**
 * Takes ownership of both stores: close() closes the cache, then the remote. The cache's blobs are
 * counted first (one listing and a head per copy), so the budget holds from the first write. Copies
 * of budgeted rows are blobs too (rowCopies.ts): all are counted, whatever the policy now says, so
 * that those of a partition no longer named are evicted in time rather than kept for ever.
 */
export async function withLocalCache(
  remote: Store,
  cache: Store,
  policy: CachePolicy,
  options: LocalCacheOptions = {},
): Promise<CachedStore> {
  const rules = cacheRules(policy);
  const writer = new CacheWriter(options.name ?? "cache", rules.log);
  const budget = new BlobBudget(rules.maxBytes);
  try {
    const evicted: string[] = [];
    const counted = (key: string) => isRowCopy(key) || rules.isImmutableBlob(key);
    const prefixes = [...rules.blobListPrefixes, ROW_COPY_PREFIX];
    for (const prefix of prefixes.filter(
      (p, i) => !prefixes.some((q, j) => j !== i && p.startsWith(q) && (q !== p || j < i)),
    ))
      evicted.push(...(await countCopies(cache.blobs, prefix, counted, budget)));
    for (const key of evicted) await cache.blobs.delete(key);
    // An earlier version kept these partitions' copies as rows, outside the budget: none may stay.
    for (const pk of policy.budgetedRowPartitions ?? []) await cache.rows.deleteRange(pk);
  } catch (err) {
    writer.fail("count the cached blobs", err);
  }
  const rows = new CachedRowStore(
    remote.rows,
    cache.rows,
    rules,
    writer,
    new RowCopies(cache.blobs, budget, writer),
  );
  const blobs = new CachedBlobStore(remote.blobs, cache.blobs, rules, writer, budget);
  let closing: Promise<void> | undefined;
  const settle = async () => {
    blobs.release();
    await rows.settle();
    await writer.drain();
  };
  const localCache: LocalCache = {
    get usable() {
      return writer.usable;
    },
    get blobBytes() {
      return budget.bytes;
    },
    maxBlobBytes: budget.maxBytes,
    hasBlob: (key) => blobs.hasCopy(key),
    blobKeys: () => budget.keys().filter((key) => !isRowCopy(key)),
    rowKeys: (pk) => (writer.usable && rules.isImmutableRow(pk) ? rows.cachedKeys(pk) : Promise.resolve([])),
    uncachedRows: (pk, sks) => rows.uncached(pk, sks),
    // Held copies count as copies waiting (their key's changes must find them): a caller that
    // needs the room gets them written now rather than at the next lull.
    roomFor: (n) => {
      blobs.release();
      return writer.roomFor(n);
    },
    holdCopiesUntil: (quiet) => {
      blobs.holdCopiesUntil(quiet);
      rows.holdReadBackUntil(quiet);
      writer.holdFillsUntil(quiet);
    },
    rank: (keys) => keys.forEach((key) => budget.touch(key)),
    rankRows: (pk, sks) => sks.forEach((sk) => budget.touch(rowCopyKey(pk, sk))),
    forget: async (forgotten, keys) => {
      await Promise.all([rows.forget(forgotten), blobs.forget(keys)]);
    },
    settle,
  };
  return {
    rows,
    blobs,
    localCache,
    ...(remote.readParallelism ? { readParallelism: () => remote.readParallelism!() } : {}),
    ...(remote.largeRowBytes ? { largeRowBytes: remote.largeRowBytes } : {}),
    get cacheUsable() {
      return writer.usable;
    },
    get cachedBlobBytes() {
      return budget.bytes;
    },
    settle,
    close: () =>
      (closing ??= (async () => {
        try {
          // Rows inserted just before close are read back and cached too (the last ones an import
          // wrote), but never for longer than closeWaitMs: a cache must not hold up a shutdown.
          const deadline = Date.now() + (options.closeWaitMs ?? 5_000);
          blobs.release();
          await within(rows.settle(), deadline);
          rows.stop();
          await writer.drain(Math.max(0, deadline - Date.now()));
          writer.close();
          await cache.close().catch((err) => writer.fail("close", err));
        } finally {
          await remote.close();
        }
      })()),
  };
}

/** Waits for `work` until `deadline` (ms since the epoch); a failure is not this caller's business. */
async function within(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
  ]);
  clearTimeout(timer);
}

/** Adds the copies under `prefix` to the budget; returns those beyond it. */
async function countCopies(
  blobs: BlobStore,
  prefix: string,
  cacheable: (key: string) => boolean,
  budget: BlobBudget,
): Promise<string[]> {
  const evicted: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await blobs.list(prefix, after, 1000);
    const keys = page.keys.filter(cacheable);
    // A few files at a time: a thousand opens at once could run out of file descriptors.
    for (let i = 0; i < keys.length; i += 32) {
      const some = keys.slice(i, i + 32);
      const heads = await Promise.all(some.map((key) => blobs.head(key)));
      some.forEach((key, j) => {
        const head = heads[j];
        if (head) evicted.push(...budget.add(key, head.size));
      });
    }
    if (!page.nextStartAfter) return evicted;
    after = page.nextStartAfter;
  }
}
