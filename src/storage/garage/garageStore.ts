/**
 * The garage backend (DESIGN.md §1): blobs on Garage's S3 API, rows on its K2V API, one bucket
 * and one key for both. Opening makes no network call, so the server starts while the host is
 * away and answers NO [UNAVAILABLE] until it returns.
 */
import type { StorageCredentials } from "../backendConfig.ts";
import type { Store } from "../types.ts";
import { K2vClient } from "./k2vClient.ts";
import { K2vRowStore } from "./k2vRowStore.ts";
import { netOptions, type NetworkStoreOptions } from "../net/netOptions.ts";
import { S3BlobStore } from "../net/s3BlobStore.ts";
import { makeS3Clients } from "../net/s3Client.ts";

/**
 * K2V accepts items far larger (its limit is ~1 MiB), but a row is read whole and ReadBatch
 * answers hold many: the mail layer keeps bodies in rows only well under it (messageLayout.ts).
 */
const LARGE_ROW_BYTES = 64 * 1024;

export interface GarageConfig {
  s3Endpoint: string;
  k2vEndpoint: string;
  region: string;
  bucket: string;
}

export function openGarageStore(
  config: GarageConfig,
  credentials: StorageCredentials,
  options: NetworkStoreOptions = {},
): Store {
  const net = netOptions(options.net);
  const s3 = makeS3Clients(config, credentials, net, options.clockOffsetMs);
  const blobs = new S3BlobStore(s3, config, net);
  const k2v = new K2vClient(config, credentials, net, options.clockOffsetMs);
  const rows = new K2vRowStore(k2v);
  return {
    blobs,
    rows,
    readParallelism: () => blobs.parallelism,
    largeRowBytes: LARGE_ROW_BYTES,
    close: async () => {
      rows.close();
      k2v.close();
      blobs.close();
      s3.writes.destroy();
      s3.reads.destroy();
      s3.put.destroy();
      s3.get.destroy();
    },
  };
}
