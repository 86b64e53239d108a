/**
 * Opens the store a settings file names (DESIGN.md §1): embedded, garage or s3. Each backend is
 * imported when asked for, so an embedded set-up never loads the S3 SDK.
 */
import { Invalid } from "../errors.ts";
import type { BackendConfig, StorageCredentials } from "./backendConfig.ts";
import type { CachePolicy } from "./cache/index.ts";
import type { Store } from "./types.ts";

export interface OpenStoreOptions {
  /**
   * The local cache in front of a garage or s3 store (the embedded backend is local already). The
   * caller names what never changes once written; storage knows nothing of mail.
   */
  cache?: CachePolicy & {
    /** Folder of every bucket's cache; each remote gets a folder of its own under it. */
    dir: string;
    /** false: no cache (default true). */
    enabled?: boolean;
  };
}

export async function openStore(
  config: BackendConfig,
  credentials?: StorageCredentials,
  options: OpenStoreOptions = {},
): Promise<Store> {
  switch (config.backend) {
    case "embedded": {
      const { openEmbeddedStore } = await import("./embedded/index.ts");
      return openEmbeddedStore(config.dataDir);
    }
    case "garage": {
      const { openGarageStore } = await import("./garage/index.ts");
      const store = openGarageStore(config, needCredentials(config.backend, credentials));
      return cached(store, `garage\n${config.s3Endpoint}\n${config.k2vEndpoint}\n${config.bucket}`, options);
    }
    case "s3": {
      const { openS3Store } = await import("./s3/index.ts");
      const store = openS3Store(config, needCredentials(config.backend, credentials));
      return cached(store, `s3\n${config.s3Endpoint}\n${config.bucket}`, options);
    }
    default:
      throw new Invalid(`unknown storage backend "${(config as { backend?: string }).backend}"`);
  }
}

/** Never fails: without a usable cache folder the remote store is returned as it is. */
async function cached(remote: Store, remoteId: string, options: OpenStoreOptions): Promise<Store> {
  const cache = options.cache;
  if (!cache || cache.enabled === false) return remote;
  const { openLocalCache } = await import("./cache/index.ts");
  return openLocalCache(remote, { cacheDir: cache.dir, remoteId }, cache);
}

function needCredentials(backend: string, credentials?: StorageCredentials): StorageCredentials {
  if (!credentials?.accessKeyId || !credentials.secretAccessKey)
    throw new Invalid(`the ${backend} backend needs an access key id and a secret access key`);
  return credentials;
}
