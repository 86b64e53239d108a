/**
 * settle() hurries the publisher past its interval (at most one watch rewrite per 100 ms). A push
 * that lands while the hurried rewrite is out wants another rewrite; that one must not wait out an
 * interval either, or settle (and a checkpoint's own rewrite) waits on the timer: up to 100 ms on
 * real time, for ever on a test's clock that nobody moves (the replay property hung once so).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { Bayou } from "../../src/sync/index.ts";
import { logMachine, replica } from "./bayouFixtures.ts";
import { SteppedSchedule } from "../support/steppedSchedule.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

/** A store that, when armed, holds the next write of the watch row until released. */
function heldWatchWrite() {
  const inner = memoryStore();
  let armed = false;
  let held = false;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.insert = async (pk, sk, value, token) => {
    if (sk === "watch" && armed) {
      armed = false;
      held = true;
      await gate;
    }
    return inner.rows.insert(pk, sk, value, token);
  };
  const store: Store = { ...inner, rows };
  return { store, arm: () => (armed = true), isHeld: () => held, release };
}

test("a push during settle's hurried watch rewrite is published without waiting an interval", async () => {
  const now = 1_780_000_000_000;
  const timers = new SteppedSchedule(() => now); // never moved: no timer fires
  const held = heldWatchWrite();
  const a = new Bayou({
    store: held.store,
    key,
    path: "index/test",
    machine: logMachine,
    clock: () => now,
    elapsed: () => now,
    schedule: timers.schedule,
  });
  await a.sync();
  await a.push(["1"]);
  await a.settle(); // the first rewrite of a quiet spell goes at once
  await a.push(["2"]); // within the interval: its rewrite waits on the timer
  assert.equal(timers.waiting, 1, "the publisher waits its interval");

  held.arm();
  const settling = a.settle();
  for (let i = 0; i < 1000 && !held.isHeld(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(held.isHeld(), "settle hurried the publisher to its rewrite");
  await a.push(["3"]); // lands while that rewrite is out: another rewrite is due
  held.release();

  let guard: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    settling.then(() => "settled"),
    new Promise<string>((resolve) => (guard = setTimeout(() => resolve("still waiting"), 2_000))),
  ]);
  clearTimeout(guard);
  assert.equal(outcome, "settled", "settle waited on a timer nobody fires");

  const b = replica(held.store, () => now, { key });
  await b.sync();
  assert.deepEqual(b.state, ["1", "2", "3"]);
  a.close();
  b.close();
});
