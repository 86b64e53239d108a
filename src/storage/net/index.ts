/** What the garage and s3 backends share: the S3 client and blob store, retries, timeouts, limits. */
export { S3BlobStore } from "./s3BlobStore.ts";
export { makeS3Client, makeS3Clients, type S3Clients } from "./s3Client.ts";
export { netOptions, type NetOptions, type NetworkStoreOptions } from "./netOptions.ts";
