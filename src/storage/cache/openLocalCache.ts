/**
 * Puts the local cache in front of a network store: an embedded store (crash-safe, one process at
 * a time) in a folder of its own per remote bucket, `<cacheDir>/<hash>`. Two commands at once (a
 * running server and an `import`) cannot share that folder: the second runs without a cache and
 * says so. No failure here fails the command; the cache is an optimisation. Deleting the folder is
 * always safe: it holds only copies of immutable remote objects, sealed as they were stored.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Locked } from "../../errors.ts";
import type { Store } from "../types.ts";
import type { CachePolicy } from "./cachePolicy.ts";
import { withLocalCache } from "./withLocalCache.ts";

export interface LocalCacheSettings {
  /** The folder holding every bucket's cache (homePaths().cacheDir). */
  cacheDir: string;
  /** What the remote is (backend, endpoints, bucket): different remotes never share a folder. */
  remoteId: string;
}

/** The folder of one remote's cache. */
export function cacheFolderOf(settings: LocalCacheSettings): string {
  const id = createHash("sha256").update(settings.remoteId).digest("hex").slice(0, 24);
  return join(settings.cacheDir, id);
}

export async function openLocalCache(
  remote: Store,
  settings: LocalCacheSettings,
  policy: CachePolicy,
): Promise<Store> {
  const folder = cacheFolderOf(settings);
  let cache: Store;
  try {
    const { openEmbeddedStore } = await import("../embedded/index.ts");
    // Its blobs are copies: written without fsync, dropped after a restart of the system.
    cache = await openEmbeddedStore(folder, { volatileBlobs: true });
  } catch (err) {
    policy.log?.(
      err instanceof Locked ? "info" : "warn",
      err instanceof Locked
        ? `local cache ${folder} is in use by another aerogramme-local process; running without it`
        : `local cache ${folder} could not be opened (${err instanceof Error ? err.message : String(err)}); running without it`,
    );
    return remote;
  }
  try {
    return await withLocalCache(remote, cache, policy, { name: folder });
  } catch (err) {
    // The cache is being given up on because of `err`, logged below; its close cannot add to that.
    await cache.close().catch(() => {});
    policy.log?.("warn", `local cache ${folder} could not start (${String(err)}); running without it`);
    return remote;
  }
}
