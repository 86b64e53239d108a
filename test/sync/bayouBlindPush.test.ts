/**
 * A push builds its ops on the state it follows (an add's UID guess is that state's UIDNEXT), and
 * syncs first only when its last watch rewrite found another writer's value (rule 3's read-back).
 * A replica that knows no token of the watch (its last sync found no watch row: a new mailbox)
 * rewrote the watch without that read-back, so it never learned of other writers: in
 * uidClash.test.ts on Garage the computer that only APPENDed guessed UIDs 3, 4, ... 51 from its
 * own adds alone for the whole run, every guess clashed, and the other computer's renumbered
 * messages were hit again and again (up to four renumberings each).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { replica } from "./bayouFixtures.ts";

let key: Uint8Array;
before(async () => {
  await loadSodium();
  key = randomKey();
});

test("a writer that only pushes to a new log sees another writer's rows before its next push", async () => {
  const store = memoryStore();
  const now = 20_000_000;
  const a = replica(store, () => now, { key });
  const b = replica(store, () => now + 1, { key });
  await a.sync(); // no watch row yet: a new mailbox
  await b.sync();
  await a.push(["a1"]);
  await a.settle(); // a's watch rewrite
  await b.push(["b1"]);
  await b.settle(); // b's: another writer's value
  let built: string[] = [];
  await a.push(() => {
    built = [...a.state];
    return ["a2"];
  });
  assert.deepEqual(built, ["a1", "b1"], "a's second push is built on b's row too");
  await a.settle();
  // From then on a's read-back does its work: a push at most one late (rule 3) sees b's rows.
  for (let i = 2; i < 5; i++) {
    await b.push([`b${i}`]);
    await b.settle();
    for (const step of ["x", "y"]) {
      await a.push(() => {
        built = [...a.state];
        return [`a${i}${step}`];
      });
      await a.settle();
    }
    assert.ok(built.includes(`b${i}`), `a's second push after b${i} is built on it: ${built.join(" ")}`);
  }
  await store.close();
});
