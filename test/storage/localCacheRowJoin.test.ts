/**
 * Row reads through the local cache join a remote read of the same rows already in flight (issue
 * 11: a mailbox's meta read ahead at its first open, then the client's FETCH of the same rows), and
 * a change to a row ends that join.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { withLocalCache, type CachedStore } from "../../src/storage/cache/index.ts";
import type { RowStore, Store } from "../../src/storage/types.ts";
import { counting, type CountingStore } from "./localCacheSupport.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

/** A remote whose row reads wait until `release()` while `hold` is on. */
function heldReads(remote: CountingStore): { store: Store; hold: boolean; release(): void } {
  const waiting: (() => void)[] = [];
  const gate = {
    hold: false,
    release: () => waiting.splice(0).forEach((go) => go()),
    store: undefined as unknown as Store,
  };
  const rows: RowStore = new Proxy(remote.rows, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if ((prop !== "readBatch" && prop !== "read") || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (gate.hold) await new Promise<void>((go) => waiting.push(go));
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
  gate.store = { ...remote, rows, blobs: remote.blobs, close: () => remote.close() };
  return gate;
}

async function setUp(): Promise<{
  remote: CountingStore;
  gate: ReturnType<typeof heldReads>;
  store: CachedStore;
}> {
  const remote = counting(memoryStore());
  const gate = heldReads(remote);
  const store = await withLocalCache(gate.store, memoryStore(), {
    rowPartitions: ["meta"],
    blobPrefixes: [],
  });
  return { remote, gate, store };
}

const keysOf = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: "meta", sk: `m${i}` }));

test("a read of meta rows already on their way from the remote joins that read", async () => {
  const { remote, gate, store } = await setUp();
  for (let i = 0; i < 10; i++) await remote.rows.insert("meta", `m${i}`, bytes(`meta ${i}`));
  remote.reset();
  gate.hold = true;
  const first = store.rows.readBatch(keysOf(10));
  await new Promise((r) => setImmediate(r));
  const second = store.rows.readBatch([...keysOf(10).slice(3, 6), { pk: "meta", sk: "absent" }]);
  const single = store.rows.read("meta", "m7");
  await new Promise((r) => setImmediate(r));
  gate.release();
  const [a, b, c] = await Promise.all([first, second, single]);
  // The absent row was not being read: it alone went to the remote.
  assert.equal(remote.total(), 2, "the ten rows were read from the remote once");
  assert.deepEqual(
    b.map((e) => text(e?.values[0])),
    ["meta 3", "meta 4", "meta 5", undefined],
  );
  assert.equal(text(c?.values[0]), "meta 7");
  assert.equal(b[0]!.token, a[3]!.token, "the remote's token, as a read of its own would get it");
  // Each caller owns its entry: what the first does to its bytes, a joiner never sees.
  a[4]!.values[0]!.fill(0);
  assert.equal(text(b[1]?.values[0]), "meta 4");
  await store.settle();
  remote.reset();
  assert.equal(
    text((await store.rows.read("meta", "m4"))?.values[0]),
    "meta 4",
    "the cached copy is the remote's",
  );
  assert.equal(remote.total(), 0);
  await store.close();
});

test("a read begun after a change to a row does not join a read from before the change", async () => {
  const { remote, gate, store } = await setUp();
  await remote.rows.insert("meta", "m0", bytes("before"));
  const old = await remote.rows.read("meta", "m0");
  gate.hold = true;
  const early = store.rows.read("meta", "m0");
  await new Promise((r) => setImmediate(r));
  gate.hold = false;
  await store.rows.delete("meta", "m0", old!.token);
  await store.rows.insert("meta", "m0", bytes("after"));
  const late = await store.rows.read("meta", "m0");
  assert.deepEqual(
    late?.values.map((v) => text(v)),
    ["after"],
    "read after the change, from the remote, not joined to the read held from before it",
  );
  gate.release();
  await early;
  await store.close();
});
