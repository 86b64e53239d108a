export { openS3Store, type S3Config } from "./s3Store.ts";
export { ObjectRowStore, type ObjectRowStoreOptions } from "./objectRowStore.ts";
