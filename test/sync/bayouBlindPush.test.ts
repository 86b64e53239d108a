/**
 * A push builds its ops on the state it follows (an add's UID guess is that state's UIDNEXT), and
 * syncs first only when its last watch rewrite found another writer's value (rule 3's read-back).
 * A replica that knew no token of the watch rewrote it without that read-back, so while it only
 * pushed it never learned of other writers: in uidClash.test.ts on Garage the computer that only
 * APPENDed guessed UIDs 3, 4, ... 51 from its own adds for the whole run, and every guess clashed.
 * Two ways to know no token: the last sync found no watch row (a new mailbox), or a checkpoint or a
 * failed row dropped it. Syncing before such a push (93088e4) cost every APPEND to a mailbox made
 * on this computer a second round trip, so the token is adopted off the acknowledgement path: by
 * the read-back of a rewrite without a token (nothing to supersede), or by a sync in the background.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import type { Bayou } from "../../src/sync/index.ts";
import { replica } from "./bayouFixtures.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

/** The store, with its row calls counted by method, and op-row inserts that fail while `failing`. */
function watchedStore(inner: Store): {
  store: Store;
  calls: Map<string, number>;
  fail: (on: boolean) => void;
} {
  const calls = new Map<string, number>();
  let failing = false;
  const rows = new Proxy(inner.rows, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        if (failing && name === "insert" && args[1] !== "watch") {
          return Promise.reject(new Error("the op row did not land"));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: { ...inner, rows }, calls, fail: (on) => (failing = on) };
}

/** Pushes one op built on the state it follows, waits for its rewrite, and returns that state. */
async function pushBuilt(r: Bayou<string[], string>, op: string): Promise<string[]> {
  let built: string[] = [];
  await r.push(() => {
    built = [...r.state];
    return [op];
  });
  await r.settle();
  return built;
}

/** From b's push on, a's second push at the latest is built on b's row (rule 3: at most one late). */
async function assertLearns(
  a: Bayou<string[], string>,
  b: Bayou<string[], string>,
  rounds: number,
): Promise<void> {
  for (let i = 1; i <= rounds; i++) {
    await b.push([`b${i}`]);
    await b.settle();
    await pushBuilt(a, `a${i}x`);
    const built = await pushBuilt(a, `a${i}y`);
    assert.ok(built.includes(`b${i}`), `a's second push after b${i} is built on it: ${built.join(" ")}`);
  }
}

test("a writer that only pushes to a new log sees another writer's rows by its second push", async () => {
  const store = memoryStore();
  const now = 20_000_000;
  const a = replica(store, () => now, { key });
  const b = replica(store, () => now + 1, { key });
  await a.sync(); // no watch row yet: a new mailbox
  await b.sync();
  await pushBuilt(a, "a0");
  await assertLearns(a, b, 4);
  await store.close();
});

test("a writer whose token a failed row dropped learns of other writers again, in the background", async () => {
  const inner = memoryStore();
  const now = 20_000_000;
  const watched = watchedStore(inner);
  const a = replica(watched.store, () => now, { key });
  const b = replica(inner, () => now + 1, { key });
  await pushBuilt(b, "b0"); // the watch row exists
  await a.sync(); // a knows its token
  watched.fail(true);
  await assert.rejects(a.push(["lost"]), /did not land/);
  watched.fail(false);
  // The row may have landed, so a knows no token now; its next rewrite cannot tell ours from b's.
  await pushBuilt(a, "a0");
  await assertLearns(a, b, 4);
  await inner.close();
});

test("a writer alone in a new log lists no row after its first sync, and its next sync is one read", async () => {
  const inner = memoryStore();
  const now = 20_000_000;
  const watched = watchedStore(inner);
  const a = replica(watched.store, () => now, { key });
  await a.sync();
  const listed = () => watched.calls.get("readRange") ?? 0;
  const afterFirstSync = listed();
  for (let i = 0; i < 20; i++) await pushBuilt(a, `a${i}`);
  assert.equal(listed(), afterFirstSync, "no push synced first (93088e4 listed the rows at every push)");
  const reads = watched.calls.get("read") ?? 0;
  assert.equal(await a.sync(), false);
  assert.equal(listed(), afterFirstSync, "the sync stopped at the watch: its token was adopted");
  assert.equal((watched.calls.get("read") ?? 0) - reads, 1);
  await inner.close();
});
