/**
 * A store whose row calls take a few milliseconds, as a network store's do: without them two
 * in-process computers on a memory store take turns so neatly that they never hand out the same UID.
 */
import type { Store } from "../../src/storage/types.ts";

export function withLatency(inner: Store, minMs = 2, spreadMs = 4): Store {
  const later = <T>(call: () => Promise<T>) =>
    new Promise<void>((r) => setTimeout(r, minMs + Math.floor(Math.random() * spreadMs))).then(call);
  const r = inner.rows;
  return {
    blobs: inner.blobs,
    close: () => inner.close(),
    rows: {
      read: (pk, sk) => later(() => r.read(pk, sk)),
      insert: (pk, sk, value, token) => later(() => r.insert(pk, sk, value, token)),
      insertBatch: (writes) => later(() => r.insertBatch(writes)),
      readBatch: (keys) => later(() => r.readBatch(keys)),
      delete: (pk, sk, token) => later(() => r.delete(pk, sk, token)),
      readRange: (pk, query) => later(() => r.readRange(pk, query)),
      deleteRange: (pk, query) => later(() => r.deleteRange(pk, query)),
      poll: (pk, sk, token, timeoutMs) => r.poll(pk, sk, token, timeoutMs),
    },
  };
}
