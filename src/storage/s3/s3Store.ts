/**
 * The s3 backend (DESIGN.md §1): any S3 host, no K2V. Blobs are objects under `blobs/`; rows are
 * emulated on objects under `rows/` (see objectRowStore.ts). Same guarantees as the garage backend,
 * with notifications by polling instead of K2V's long polls.
 */
import type { StorageCredentials } from "../backendConfig.ts";
import { makeS3Clients, netOptions, S3BlobStore, type NetworkStoreOptions } from "../net/index.ts";
import type { Store } from "../types.ts";
import { ObjectRowStore, type ObjectRowStoreOptions } from "./objectRowStore.ts";
import { PrefixedBlobStore } from "./prefixedBlobStore.ts";

export interface S3Config {
  s3Endpoint: string;
  region: string;
  bucket: string;
}

export function openS3Store(
  config: S3Config,
  credentials: StorageCredentials,
  options: NetworkStoreOptions & { rows?: ObjectRowStoreOptions } = {},
): Store {
  const net = netOptions(options.net);
  const s3 = makeS3Clients(config, credentials, net, options.clockOffsetMs);
  const objects = new S3BlobStore(s3, config, net);
  const rows = new ObjectRowStore(objects, options.rows);
  return {
    blobs: new PrefixedBlobStore(objects, "blobs/"),
    rows,
    readParallelism: () => objects.parallelism,
    close: async () => {
      await rows.close();
      objects.close();
      s3.writes.destroy();
      s3.reads.destroy();
      s3.put.destroy();
      s3.get.destroy();
    },
  };
}
