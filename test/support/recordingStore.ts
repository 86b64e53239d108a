/**
 * A Store that passes everything through and records every key written (put, copy, insert,
 * delete), with the bytes written: what the storage host sees a session write, whatever backend
 * is underneath.
 */
import type { BlobStore, RowStore, Store } from "../../src/storage/types.ts";

export interface RecordedWrite {
  kind: "blob" | "row";
  /** The blob's key, or "pk / sk". */
  name: string;
  op: "put" | "copy" | "insert" | "delete";
  /** What was written (a copy: the bytes of its source as last written here; null for a delete). */
  bytes: Uint8Array | null;
}

export function recordingStore(inner: Store): { store: Store; writes: RecordedWrite[] } {
  const writes: RecordedWrite[] = [];
  const lastPut = new Map<string, Uint8Array>();
  const row = (pk: string, sk: string) => `${pk} / ${sk}`;
  const blobs: BlobStore = {
    put: async (key, bytes) => {
      writes.push({ kind: "blob", name: key, op: "put", bytes: Uint8Array.from(bytes) });
      lastPut.set(key, Uint8Array.from(bytes));
      await inner.blobs.put(key, bytes);
    },
    get: (key, range) => inner.blobs.get(key, range),
    head: (key) => inner.blobs.head(key),
    delete: async (key) => {
      writes.push({ kind: "blob", name: key, op: "delete", bytes: null });
      await inner.blobs.delete(key);
    },
    list: (prefix, startAfter, limit) => inner.blobs.list(prefix, startAfter, limit),
    copy: async (from, to) => {
      const bytes = lastPut.get(from) ?? (await inner.blobs.get(from));
      writes.push({ kind: "blob", name: to, op: "copy", bytes });
      if (bytes) lastPut.set(to, bytes);
      await inner.blobs.copy(from, to);
    },
  };
  const rows: RowStore = {
    read: (pk, sk) => inner.rows.read(pk, sk),
    insert: async (pk, sk, value, token) => {
      writes.push({ kind: "row", name: row(pk, sk), op: "insert", bytes: Uint8Array.from(value) });
      await inner.rows.insert(pk, sk, value, token);
    },
    insertBatch: async (batch) => {
      for (const w of batch)
        writes.push({
          kind: "row",
          name: row(w.pk, w.sk),
          op: w.value === null ? "delete" : "insert",
          bytes: w.value === null ? null : Uint8Array.from(w.value),
        });
      await inner.rows.insertBatch(batch);
    },
    readBatch: (keys) => inner.rows.readBatch(keys),
    delete: async (pk, sk, token) => {
      writes.push({ kind: "row", name: row(pk, sk), op: "delete", bytes: null });
      await inner.rows.delete(pk, sk, token);
    },
    readRange: (pk, query) => inner.rows.readRange(pk, query),
    deleteRange: async (pk, query) => {
      // Each row it deletes gets a tombstone under its own key: list them first.
      let start = query?.start;
      for (;;) {
        const page = await inner.rows.readRange(pk, { ...query, start, limit: 1000 });
        for (const item of page.items)
          writes.push({ kind: "row", name: row(pk, item.sk), op: "delete", bytes: null });
        if (!page.nextStart) break;
        start = page.nextStart;
      }
      return inner.rows.deleteRange(pk, query);
    },
    poll: (pk, sk, token, timeoutMs) => inner.rows.poll(pk, sk, token, timeoutMs),
  };
  const large = inner.largeRowBytes ? { largeRowBytes: inner.largeRowBytes } : {};
  return { store: { blobs, rows, ...large, close: () => inner.close() }, writes };
}
