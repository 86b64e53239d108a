/**
 * A store that counts the message meta rows read through it: what a test of the list view (local,
 * or shared through the bucket) checks, since every message listed from its meta costs one.
 */
import { META_PK } from "../../src/mail/messageLayout.ts";
import type { RowStore, Store } from "../../src/storage/types.ts";

export function metaRowsCounted(store: Store): { store: Store; metaRowsRead: () => number } {
  let read = 0;
  const rows: RowStore = Object.assign(Object.create(store.rows) as RowStore, {
    readBatch: (keys: { pk: string; sk: string }[]) => {
      read += keys.filter((k) => k.pk === META_PK).length;
      return store.rows.readBatch(keys);
    },
    read: (pk: string, sk: string) => {
      if (pk === META_PK) read++;
      return store.rows.read(pk, sk);
    },
  });
  return { store: { ...store, rows }, metaRowsRead: () => read };
}
