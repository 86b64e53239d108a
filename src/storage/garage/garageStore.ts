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
 * Measured cheaper than an object up to 62,000 B (bench/notes.md, wt-inline session 17); K2V accepts
 * items far larger (~1 MiB), but a row is read whole and ReadBatch answers hold many. Room for the
 * 64 KiB padding bucket's sealed size (65,585 B), which the mail layer keeps in rows.
 */
const LARGE_ROW_BYTES = 80 * 1024;

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
