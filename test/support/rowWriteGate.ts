/**
 * A store whose row writes (insert, insertBatch) wait while the gate is held, until it is released:
 * a test can keep a write under way, unanswered, and look at what the server does meanwhile.
 * Reads, deletes and polls pass straight through.
 */
import type { Store } from "../../src/storage/types.ts";

export interface RowWriteGate {
  store: Store;
  hold(): void;
  release(): void;
}

export function rowWriteGate(inner: Store): RowWriteGate {
  let held: Promise<void> | undefined;
  let release = () => {};
  const wait = async () => {
    while (held) await held;
  };
  const r = inner.rows;
  const store: Store = {
    blobs: inner.blobs,
    close: () => inner.close(),
    rows: {
      ...r,
      read: (pk, sk) => r.read(pk, sk),
      readBatch: (keys) => r.readBatch(keys),
      readRange: (pk, q) => r.readRange(pk, q),
      delete: (pk, sk, token) => r.delete(pk, sk, token),
      deleteRange: (pk, q) => r.deleteRange(pk, q),
      poll: (pk, sk, token, ms) => r.poll(pk, sk, token, ms),
      insert: async (pk, sk, value, token) => {
        await wait();
        return r.insert(pk, sk, value, token);
      },
      insertBatch: async (writes) => {
        await wait();
        return r.insertBatch(writes);
      },
    },
  };
  return {
    store,
    hold: () => {
      held = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => {
      held = undefined;
      release();
    },
  };
}
