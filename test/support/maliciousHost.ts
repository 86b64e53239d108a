/**
 * A storage host that misbehaves on purpose (issue 12's threat model): it holds every byte, and
 * may drop a row, serve an older value of a row, hide an object from listings and reads, or put
 * the whole store back as it was at a snapshot. Everything else passes through to a real store.
 * It also counts the writes it receives, so a test can tell that nothing was written over a
 * rolled-back state.
 */
import type { RangeResult, RowEntry, Store } from "../../src/storage/types.ts";

export interface StoreSnapshot {
  rows: Map<string, { sk: string; values: Uint8Array[] }[]>;
  blobs: Map<string, Uint8Array>;
}

export interface MaliciousHost {
  store: Store;
  /** Writes received (row inserts and deletes, blob puts, copies and deletes) since the start. */
  readonly writes: number;
  /** Every row insert received, in order (a host sees which rows are written when). */
  readonly inserts: { pk: string; sk: string }[];
  /** Deletes one row, as no client asked. */
  dropRow(pk: string, sk: string): Promise<void>;
  /** From now on, serves `entry` (an older read of the row) whatever is written to it. */
  pinRow(pk: string, sk: string, entry: RowEntry | null): void;
  /** Serves the row as stored again. */
  unpinRow(pk: string, sk: string): void;
  /** From now on, leaves the object out of listings and answers null for it. */
  hideBlob(key: string): void;
  /** A copy of everything the store holds (every partition this host has seen and every blob). */
  snapshot(): Promise<StoreSnapshot>;
  /** Puts the store back as it was at `snapshot` (an old copy of the bucket restored). */
  restore(snapshot: StoreSnapshot): Promise<void>;
}

export function maliciousHost(inner: Store): MaliciousHost {
  const partitions = new Set<string>();
  const pinned = new Map<string, RowEntry | null>();
  const hidden = new Set<string>();
  let writes = 0;
  const inserts: { pk: string; sk: string }[] = [];
  const r = inner.rows;
  const b = inner.blobs;
  const pinKey = (pk: string, sk: string) => `${pk}\u0000${sk}`;
  const served = (pk: string, entry: RowEntry | null, sk: string): RowEntry | null => {
    const key = pinKey(pk, sk);
    return pinned.has(key) ? pinned.get(key)! : entry;
  };
  const servedRange = (pk: string, result: RangeResult): RangeResult => ({
    ...result,
    items: result.items
      .map((item) => served(pk, item, item.sk))
      .filter((item): item is RowEntry => item !== null && item.values.length > 0),
  });

  const rows: Store["rows"] = {
    read: async (pk, sk) => (partitions.add(pk), served(pk, await r.read(pk, sk), sk)),
    insert: (pk, sk, value, token) => {
      partitions.add(pk);
      writes += 1;
      inserts.push({ pk, sk });
      return r.insert(pk, sk, value, token);
    },
    insertBatch: (batch) => {
      for (const w of batch) partitions.add(w.pk);
      writes += batch.length;
      return r.insertBatch(batch);
    },
    readBatch: async (keys) => {
      const got = await r.readBatch(keys);
      return got.map((entry, i) => served(keys[i]!.pk, entry, keys[i]!.sk));
    },
    delete: (pk, sk, token) => ((writes += 1), r.delete(pk, sk, token)),
    readRange: async (pk, query) => (partitions.add(pk), servedRange(pk, await r.readRange(pk, query))),
    deleteRange: (pk, query) => ((writes += 1), r.deleteRange(pk, query)),
    poll: (pk, sk, token, timeoutMs) => r.poll(pk, sk, token, timeoutMs),
  };
  const blobs: Store["blobs"] = {
    put: (key, bytes) => ((writes += 1), b.put(key, bytes)),
    get: (key, range) => (hidden.has(key) ? Promise.resolve(null) : b.get(key, range)),
    head: (key) => (hidden.has(key) ? Promise.resolve(null) : b.head(key)),
    delete: (key) => ((writes += 1), b.delete(key)),
    list: async (prefix, startAfter, limit) => {
      const page = await b.list(prefix, startAfter, limit);
      return { ...page, keys: page.keys.filter((k) => !hidden.has(k)) };
    },
    copy: (from, to) => ((writes += 1), b.copy(from, to)),
  };

  async function allBlobKeys(): Promise<string[]> {
    const keys: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await b.list("", startAfter, 1000);
      keys.push(...page.keys);
      startAfter = page.nextStartAfter;
    } while (startAfter);
    return keys;
  }

  return {
    store: { rows, blobs, close: () => inner.close() },
    get writes() {
      return writes;
    },
    inserts,
    async dropRow(pk, sk) {
      const row = await r.read(pk, sk);
      if (!row || row.values.length === 0) throw new Error(`no row ${pk}/${sk} to drop`);
      await r.delete(pk, sk, row.token);
    },
    pinRow(pk, sk, entry) {
      pinned.set(pinKey(pk, sk), entry);
    },
    unpinRow(pk, sk) {
      pinned.delete(pinKey(pk, sk));
    },
    hideBlob(key) {
      hidden.add(key);
    },
    async snapshot() {
      const snap: StoreSnapshot = { rows: new Map(), blobs: new Map() };
      for (const pk of partitions) {
        const { items } = await r.readRange(pk, {});
        snap.rows.set(
          pk,
          items.map((item) => ({ sk: item.sk, values: item.values.map((v) => Uint8Array.from(v)) })),
        );
      }
      for (const key of await allBlobKeys()) snap.blobs.set(key, (await b.get(key))!);
      return snap;
    },
    async restore(snap) {
      for (const pk of partitions) {
        const old = new Map((snap.rows.get(pk) ?? []).map((row) => [row.sk, row.values]));
        for (const item of (await r.readRange(pk, {})).items) {
          if (!old.has(item.sk)) await r.delete(pk, item.sk, item.token);
        }
        for (const [sk, values] of old) {
          const current = await r.read(pk, sk);
          for (const [i, value] of values.entries()) {
            await r.insert(pk, sk, value, i === 0 ? current?.token : undefined);
          }
        }
      }
      for (const key of await allBlobKeys()) if (!snap.blobs.has(key)) await b.delete(key);
      for (const [key, bytes] of snap.blobs) await b.put(key, bytes);
    },
  };
}
