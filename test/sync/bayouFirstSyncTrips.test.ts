/**
 * A replica's first sync fetches the newest checkpoint beside the watch and the op rows, and adopts
 * it only when the listing rule 2 makes after the rows still names it (issue 11: a second
 * computer's SELECT waited on four round trips one after another; now three). Its state and the
 * rows are decoded, and the rows applied, while that listing is in flight.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { Bayou, type StateMachine } from "../../src/sync/index.ts";
import { logMachine, opRowCount, replica } from "./bayouFixtures.ts";
import { aroundStoreCalls } from "../support/storeCalls.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

/**
 * Each call's depth: one more than the deepest call that had ended when it started. A call that
 * waits for another's answer is one deeper; calls sent side by side share a depth.
 */
function depthCounting(
  inner: Store,
  hooks: { afterGet?: (key: string) => Promise<void>; beforeRange?: () => Promise<void> } = {},
) {
  const seen = { deepest: 0, calls: [] as string[] };
  let ended = 0;
  const store = aroundStoreCalls(inner, async (layer, prop, args, call) => {
    const depth = ended + 1;
    seen.deepest = Math.max(seen.deepest, depth);
    seen.calls.push(`${depth} ${layer}.${prop}`);
    try {
      if (layer === "rows" && prop === "readRange") await hooks.beforeRange?.();
      await new Promise((r) => setTimeout(r, 5));
      const result = await call();
      if (layer === "blobs" && prop === "get") await hooks.afterGet?.(args[0] as string);
      return result;
    } finally {
      ended = Math.max(ended, depth);
    }
  });
  return { store, seen };
}

test("a replica's first sync of a checkpointed path waits on three round trips, not four", async () => {
  const raw = memoryStore();
  let now = 1_000_000;
  const writer = replica(raw, () => now, { key });
  for (let i = 0; i < 5; i++) await writer.push([`op${i}`]);
  now += 2_000;
  await writer.checkpoint();
  await writer.push(["op5"]);
  const { store, seen } = depthCounting(raw);
  const fresh = replica(store, () => now, { key });
  await fresh.sync();
  assert.deepEqual(fresh.state, ["op0", "op1", "op2", "op3", "op4", "op5"]);
  // The watch beside the listing; the rows beside the checkpoint's GET; the listing after the rows.
  assert.equal(seen.deepest, 3, seen.calls.join(", "));
});

test("a checkpoint written and its rows deleted between the early fetch and the rows' read is the one adopted", async () => {
  const raw = memoryStore();
  let now = 2_000_000;
  const writer = replica(raw, () => now, { key });
  for (let i = 0; i < 5; i++) await writer.push([`op${i}`]);
  now += 2_000;
  await writer.checkpoint();
  for (let i = 5; i < 10; i++) await writer.push([`op${i}`]);
  let interleaved = false;
  let done: () => void = () => undefined;
  const landed = new Promise<void>((resolve) => (done = resolve));
  const { store } = depthCounting(raw, {
    // Bounded: a build that fetches nothing early reads its rows after 500 ms.
    beforeRange: () => Promise.race([landed, new Promise<void>((r) => setTimeout(r, 500))]),
    // Once the early GET has the first checkpoint's bytes: another computer folds op5..op9 into a
    // newer checkpoint and, past the retention, deletes their rows, before this replica reads rows.
    afterGet: async (got) => {
      if (interleaved || !got.includes("/checkpoint/")) return;
      interleaved = true;
      now += 10_000;
      await writer.checkpoint();
      done();
    },
  });
  const fresh = replica(store, () => now, { key });
  await fresh.sync();
  assert.ok(interleaved, "the early GET ran");
  assert.equal(await opRowCount(raw), 0, "the newer checkpoint's rows were deleted before the rows' read");
  assert.deepEqual(
    fresh.state,
    Array.from({ length: 10 }, (_, i) => `op${i}`),
  );
});

test("a first sync decodes the early checkpoint and applies its rows while the listing after the rows is in flight, once", async () => {
  const raw = memoryStore();
  let now = 3_000_000;
  const writer = replica(raw, () => now, { key });
  for (let i = 0; i < 5; i++) await writer.push([`op${i}`]);
  now += 2_000;
  await writer.checkpoint();
  await writer.push(["op5"]);
  const events: string[] = [];
  const machine: StateMachine<string[], string> = {
    ...logMachine,
    decodeState: (b) => {
      events.push("decodeState");
      return logMachine.decodeState(b);
    },
    decodeOp: (b) => {
      events.push("decodeOp");
      return logMachine.decodeOp(b);
    },
    apply: (state, op, ts) => {
      events.push(`apply ${op}`);
      return logMachine.apply(state, op, ts);
    },
  };
  let lists = 0;
  const b = raw.blobs;
  const store: Store = {
    ...raw,
    blobs: {
      put: (k, bytes) => b.put(k, bytes),
      get: (k, range) => b.get(k, range),
      head: (k) => b.head(k),
      delete: (k) => b.delete(k),
      copy: (from, to) => b.copy(from, to),
      list: async (prefix, startAfter, limit) => {
        const n = ++lists;
        const listing = await raw.blobs.list(prefix, startAfter, limit);
        // The listing made after the rows: answered once the replica applied them (bounded: 500 ms).
        if (n === 2) {
          for (let waited = 0; waited < 500 && !events.includes("apply op5"); waited += 10)
            await new Promise((r) => setTimeout(r, 10));
          events.push("second listing answered");
        }
        return listing;
      },
    },
  };
  const fresh = new Bayou({
    store,
    key,
    path: "index/test",
    machine,
    clock: () => now,
    safetyWindowMs: 1000,
  });
  await fresh.sync();
  assert.deepEqual(fresh.state, ["op0", "op1", "op2", "op3", "op4", "op5"]);
  assert.deepEqual(events, ["decodeState", "decodeOp", "apply op5", "second listing answered"]);
});
