/** The local encrypted cache in front of a network store (DESIGN.md §7). */
export { DEFAULT_CACHE_MAX_BYTES, type CachePolicy } from "./cachePolicy.ts";
export { withLocalCache, type CachedStore, type LocalCacheOptions } from "./withLocalCache.ts";
export { cacheFolderOf, openLocalCache, type LocalCacheSettings } from "./openLocalCache.ts";
