import { before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { Bayou, type StateMachine } from "../../src/sync/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { Tampered, WrongContext } from "../../src/errors.ts";

/** An order-sensitive toy state: the list of ops applied. */
const logMachine: StateMachine<string[], string> = {
  empty: () => [],
  apply: (s, op) => {
    s.push(op);
    return s;
  },
  clone: (s) => [...s],
  encodeOp: (op) => new TextEncoder().encode(op),
  decodeOp: (b) => new TextDecoder().decode(b),
  encodeState: (s) => new TextEncoder().encode(JSON.stringify(s)),
  decodeState: (b) => JSON.parse(new TextDecoder().decode(b)) as string[],
};

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

function replica(
  store: Store,
  clock: () => number,
  extra: Partial<{ checkpointEvery: number; k: Uint8Array }> = {},
) {
  return new Bayou({
    store,
    key: extra.k ?? key,
    path: "index/test",
    machine: logMachine,
    clock,
    checkpointEvery: extra.checkpointEvery ?? 1000,
    safetyWindowMs: 1000,
  });
}

test("two replicas on one store see each other's pushes in timestamp order", async () => {
  const store = memoryStore();
  let now = 1_000_000;
  const a = replica(store, () => now);
  const b = replica(store, () => now);
  await a.push(["a1", "a2"]);
  now += 5;
  await b.push(["b1"]);
  await a.sync();
  assert.deepEqual(a.state, ["a1", "a2", "b1"]);
  assert.deepEqual(b.state, ["a1", "a2", "b1"]);
});

test("a checkpoint keeps the state, cleans up old rows, and a fresh replica starts from it", async () => {
  const store = memoryStore();
  let now = 2_000_000;
  const a = replica(store, () => now);
  for (let i = 0; i < 30; i++) {
    await a.push([`op${i}`]);
    now += 100;
    if (i % 10 === 9) await a.checkpoint();
  }
  now += 5000;
  await a.checkpoint();
  const rows = await store.rows.readRange("index/test", { end: "g" });
  assert.ok(rows.items.length < 30, `old op rows were cleaned up (${rows.items.length} left)`);
  const fresh = replica(store, () => now);
  await fresh.sync();
  assert.deepEqual(fresh.state, a.state);
  assert.equal(fresh.state.length, 30);
});

test("a late op older than the newest checkpoint is still applied, by everyone alike", async () => {
  const store = memoryStore();
  let now = 3_000_000;
  const a = replica(store, () => now);
  const slowClock = 3_000_000;
  const late = replica(store, () => slowClock); // a computer whose clock is far behind
  await a.push(["a1"]);
  now += 10_000;
  await a.push(["a2"]);
  now += 10_000;
  await a.checkpoint();
  // The slow computer never synced: its op gets an old timestamp.
  (late as unknown as { loaded: boolean }).loaded = true;
  await late.push(["late"]);
  await a.sync();
  const fresh = replica(store, () => now);
  await fresh.sync();
  assert.ok(a.state.includes("late"));
  assert.deepEqual(fresh.state, a.state);
});

test("op rows are sealed: another key cannot read them, and a moved row is WrongContext", async () => {
  const store = memoryStore();
  const a = replica(store, () => 4_000_000);
  await a.push(["secret"]);
  const stranger = replica(store, () => 4_000_000, { k: randomKey() });
  await assert.rejects(stranger.sync(), Tampered);
  const rows = await store.rows.readRange("index/test", { end: "g" });
  await store.rows.insert("index/test", "0".repeat(27) + "1", rows.items[0]!.values[0]!);
  await assert.rejects(replica(store, () => 4_000_000).sync(), WrongContext);
});

test("a push wakes another replica's waitForChange; it returns false at timeout otherwise", async () => {
  const store = memoryStore();
  const a = replica(store, Date.now);
  const b = replica(store, Date.now);
  await b.sync();
  const t = Date.now();
  assert.equal(await b.waitForChange(150), false);
  assert.ok(Date.now() - t >= 140);
  const waiting = b.waitForChange(2000);
  await a.push(["x"]);
  assert.equal(await waiting, true);
});

test("3 computers, 1,000 random interleaved pushes, syncs, checkpoints and late pushes converge without loss", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          who: fc.integer({ min: 0, max: 2 }),
          kind: fc.constantFrom("push", "push", "push", "sync", "checkpoint", "late"),
          n: fc.integer({ min: 1, max: 5 }),
          tick: fc.integer({ min: 0, max: 400 }),
        }),
        { minLength: 1000, maxLength: 1000 },
      ),
      fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: 3, maxLength: 3 }),
      async (actions, skews) => {
        const store = memoryStore();
        let now = 10_000_000;
        const replicas = skews.map((skew) => replica(store, () => now + skew, { checkpointEvery: 7 }));
        const acknowledged: string[] = [];
        let counter = 0;
        for (const act of actions) {
          now += act.tick;
          const r = replicas[act.who]!;
          if (act.kind === "push") {
            const ops = Array.from({ length: act.n }, () => `op${counter++}`);
            await r.push(ops);
            acknowledged.push(...ops);
          } else if (act.kind === "late") {
            // Written with a timestamp from the past, as by a computer whose clock is behind.
            const slow = replica(store, () => now - 20_000);
            (slow as unknown as { loaded: boolean }).loaded = true;
            const op = `op${counter++}`;
            await slow.push([op]);
            acknowledged.push(op);
          } else if (act.kind === "sync") {
            await r.sync();
          } else {
            await r.checkpoint();
          }
        }
        now += 100_000;
        for (const r of replicas) await r.sync();
        const fresh = replica(store, () => now);
        await fresh.sync();
        for (const r of replicas) assert.deepEqual(r.state, fresh.state);
        assert.deepEqual([...fresh.state].sort(), [...acknowledged].sort());
      },
    ),
    { numRuns: 3 },
  );
});
