/**
 * A BlobStore inside a key prefix of another one. The s3 backend keeps blobs under `blobs/` and its
 * row objects under `rows/`, so that listing the blobs never shows a row.
 */
import type { BlobListing, BlobStore, ByteRange } from "../types.ts";

export class PrefixedBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly prefix: string,
  ) {}

  put(key: string, bytes: Uint8Array) {
    return this.inner.put(this.prefix + key, bytes);
  }
  get(key: string, range?: ByteRange) {
    return this.inner.get(this.prefix + key, range);
  }
  head(key: string) {
    return this.inner.head(this.prefix + key);
  }
  delete(key: string) {
    return this.inner.delete(this.prefix + key);
  }
  async list(prefix: string, startAfter?: string, limit?: number): Promise<BlobListing> {
    const listed = await this.inner.list(
      this.prefix + prefix,
      startAfter === undefined ? undefined : this.prefix + startAfter,
      limit,
    );
    const strip = (key: string) => key.slice(this.prefix.length);
    return {
      keys: listed.keys.map(strip),
      ...(listed.nextStartAfter === undefined ? {} : { nextStartAfter: strip(listed.nextStartAfter) }),
    };
  }
  copy(from: string, to: string) {
    return this.inner.copy(this.prefix + from, this.prefix + to);
  }
}
