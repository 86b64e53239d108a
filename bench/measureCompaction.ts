/**
 * What a row-log compaction costs the writers and readers beside it (not a test: run it by hand).
 *
 *   node --import tsx bench/measureCompaction.ts [liveMB=16] [deadMB=20]
 *
 * Fills an embedded store with `liveMB` of live 1 KiB rows and `deadMB` of overwritten ones, then
 * runs a compaction while 10 writers insert one row after another and a reader reads rows; prints
 * how long the compaction took and the writers' and reader's worst waits during it, against the
 * same writers without a compaction.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore, type EmbeddedStore } from "../src/storage/embedded/index.ts";

const liveMB = Number(process.argv[2] ?? 16);
const deadMB = Number(process.argv[3] ?? 20);
const rowBytes = 1024;
const value = (n: number) => Uint8Array.from({ length: rowBytes }, (_, i) => (n + i) & 0xff);

const dir = await mkdtemp(join(tmpdir(), "agl-compaction-"));
try {
  // Thresholds out of the way: the compaction runs when asked.
  const store = await openEmbeddedStore(dir, { compactMinDeadBytes: 2 ** 40 });
  const live = Math.round((liveMB << 20) / rowBytes);
  const dead = Math.round((deadMB << 20) / rowBytes);
  for (let i = 0; i < live + dead; i += 500) {
    const keys = Array.from({ length: Math.min(500, live + dead - i) }, (_, j) => `r${(i + j) % live}`);
    // With the token of what is there, a write replaces it (the old record becomes dead bytes).
    const current = await store.rows.readBatch(keys.map((sk) => ({ pk: "fill", sk })));
    await store.rows.insertBatch(
      keys.map((sk, j) => ({ pk: "fill", sk, value: value(i + j), token: current[j]?.token })),
    );
  }
  const before = store.rows.stats();
  console.log(
    `log ${(before.logBytes / 2 ** 20).toFixed(1)} MB, live ${(before.liveBytes / 2 ** 20).toFixed(1)} MB`,
  );
  const quiet = await besideWriters(store, () => new Promise((r) => setTimeout(r, 2_000)));
  console.log(`without compaction (2 s): ${quiet}`);
  let took = 0;
  const during = await besideWriters(store, async () => {
    const t0 = performance.now();
    await store.rows.compact();
    took = performance.now() - t0;
  });
  console.log(`compaction ${took.toFixed(0)} ms: ${during}`);
  const after = store.rows.stats();
  console.log(`log after ${(after.logBytes / 2 ** 20).toFixed(1)} MB`);
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Runs `work` while 10 writers insert and a reader reads; their worst waits. */
async function besideWriters(store: EmbeddedStore, work: () => Promise<void>): Promise<string> {
  let done = false;
  let worstWrite = 0;
  let worstRead = 0;
  let writes = 0;
  const writers = Array.from({ length: 10 }, async (_, w) => {
    for (let i = 0; !done; i++) {
      const t0 = performance.now();
      await store.rows.insert("beside", `w${w}-${i}`, value(i));
      worstWrite = Math.max(worstWrite, performance.now() - t0);
      writes++;
    }
  });
  const reader = (async () => {
    for (let i = 0; !done; i++) {
      const t0 = performance.now();
      await store.rows.read("fill", `r${i % 1000}`);
      worstRead = Math.max(worstRead, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  await work();
  done = true;
  await Promise.all([...writers, reader]);
  return `${writes} writes, worst write ${worstWrite.toFixed(0)} ms, worst read ${worstRead.toFixed(1)} ms`;
}
