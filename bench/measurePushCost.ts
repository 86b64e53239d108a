/**
 * What one Bayou push costs as the op rows kept for the retention (10 min) pile up (issue 18).
 * `node --import tsx bench/measurePushCost.ts [kept...]` fills a replica on the memory store with
 * `kept` rows, lets a checkpoint fold them (they stay, folded, until the retention ends, as under
 * load), then times 300 more pushes and prints the mean per push. Under the load tool (10 clients,
 * one mailbox) the server pushed about 90 rows a second to INBOX, so 10 minutes kept about 50,000.
 * The clocks are the script's own: no checkpoint is due during the timed pushes.
 */
import { randomKey } from "../src/crypto/aead.ts";
import { loadSodium } from "../src/crypto/sodium.ts";
import { memoryStore } from "../src/storage/memoryStore.ts";
import { Bayou, type StateMachine } from "../src/sync/index.ts";

/** A counter: the state costs nothing, so what is timed is Bayou's own work. */
const counter: StateMachine<number, string> = {
  empty: () => 0,
  apply: (s) => s + 1,
  encodeOp: (op) => new TextEncoder().encode(op),
  decodeOp: (b) => new TextDecoder().decode(b),
  encodeState: (s) => new TextEncoder().encode(String(s)),
  decodeState: (b) => Number(new TextDecoder().decode(b)),
};

const TIMED = 300;

async function pushCost(kept: number, key: Uint8Array): Promise<number> {
  let now = Date.UTC(2026, 11, 5, 12);
  const bayou = new Bayou({
    store: memoryStore(),
    key,
    path: "index/bench",
    machine: counter,
    clock: () => now,
    elapsed: () => now,
  });
  await bayou.sync();
  for (let i = 0; i < kept; i++) {
    now += 5;
    await bayou.push([`op${i}`]);
  }
  now += 61_000; // past the safety window: the next push starts a checkpoint that folds them all
  await bayou.push(["fold"]);
  await bayou.checkpointsSettled();
  const t0 = performance.now();
  for (let i = 0; i < TIMED; i++) {
    now += 5;
    await bayou.push([`timed${i}`]);
  }
  const ms = (performance.now() - t0) / TIMED;
  await bayou.checkpointsSettled();
  bayou.close();
  return ms;
}

await loadSodium();
const key = randomKey();
const sizes = process.argv.slice(2).map(Number);
for (const kept of sizes.length > 0 ? sizes : [1000, 5000, 20_000]) {
  const ms = await pushCost(kept, key);
  console.log(`${String(kept).padStart(6)} rows kept: ${ms.toFixed(3)} ms per push`);
}
