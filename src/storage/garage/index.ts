export { openGarageStore, type GarageConfig, type NetworkStoreOptions } from "./garageStore.ts";
export { S3BlobStore } from "./s3BlobStore.ts";
export { makeS3Client } from "./s3Client.ts";
export { netOptions, type NetOptions } from "./netOptions.ts";
