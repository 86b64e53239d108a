/**
 * Rough figures for the embedded store (not a test: run it by hand and read the numbers).
 *
 *   node --expose-gc --import tsx test/storage/measureEmbedded.ts [rows=100000] [valueBytes=1024]
 *
 * Single-row inserts by one writer (each waits for its fsync), by 20 concurrent writers (group
 * commit shares fsyncs), blob puts, and how long opening a folder of `rows` rows takes.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../src/storage/embedded/index.ts";

const rows = Number(process.argv[2] ?? 100_000);
const valueBytes = Number(process.argv[3] ?? 1024);
const value = (n: number) => Uint8Array.from({ length: valueBytes }, (_, i) => (n + i) & 0xff);
const perSecond = (count: number, ms: number) => `${Math.round((count * 1000) / ms)}/s`;

const dir = await mkdtemp(join(tmpdir(), "agl-measure-"));
try {
  await fill();
  await reopen();
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function fill(): Promise<void> {
  const store = await openEmbeddedStore(dir);

  let began = performance.now();
  const single = 300;
  for (let i = 0; i < single; i++) await store.rows.insert("one", `k${i}`, value(i));
  console.log(`1 writer: ${single} inserts, ${perSecond(single, performance.now() - began)}`);

  const writers = 20;
  const each = 100;
  began = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < each; i++) await store.rows.insert("many", `w${w}-${i}`, value(i));
    }),
  );
  console.log(
    `${writers} writers: ${writers * each} inserts, ${perSecond(writers * each, performance.now() - began)}`,
  );

  began = performance.now();
  const blobs = 200;
  for (let i = 0; i < blobs; i++) await store.blobs.put(`blob/${i}`, value(i));
  console.log(
    `1 writer: ${blobs} blob puts of ${valueBytes} B, ${perSecond(blobs, performance.now() - began)}`,
  );
  began = performance.now();
  await Promise.all(Array.from({ length: blobs }, (_, i) => store.blobs.put(`blob2/${i}`, value(i))));
  console.log(`${blobs} concurrent blob puts, ${perSecond(blobs, performance.now() - began)}`);

  began = performance.now();
  const batch = 1_000;
  for (let at = 0; at < rows; at += batch) {
    await store.rows.insertBatch(
      Array.from({ length: Math.min(batch, rows - at) }, (_, i) => ({
        pk: "meta",
        sk: `mail-${(at + i).toString(16).padStart(8, "0")}`,
        value: value(at + i),
      })),
    );
  }
  console.log(`insertBatch of ${batch}: ${rows} rows, ${perSecond(rows, performance.now() - began)}`);
  await store.close();
}

async function reopen(): Promise<void> {
  const logBytes = (await stat(join(dir, "rows.log"))).size;

  (globalThis as { gc?: () => void }).gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let began = performance.now();
  const store = await openEmbeddedStore(dir);
  const openMs = performance.now() - began;
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  console.log(
    `open: ${rows + 2300} rows, log ${(logBytes / 2 ** 20).toFixed(0)} MiB, ` +
      `${openMs.toFixed(0)} ms, heap +${((heapAfter - heapBefore) / 2 ** 20).toFixed(0)} MiB`,
  );

  began = performance.now();
  let page = 0;
  let start: string | undefined;
  for (; page < 10_000; page++) {
    const r = await store.rows.readRange("meta", { start, limit: 500 });
    if (r.nextStart === undefined) break;
    start = r.nextStart;
  }
  console.log(`readRange of all ${rows} rows by pages of 500: ${(performance.now() - began).toFixed(0)} ms`);

  began = performance.now();
  for (let i = 0; i < 2_000; i++) {
    await store.rows.read("meta", `mail-${((i * 7919) % rows).toString(16).padStart(8, "0")}`);
  }
  console.log(`2000 random reads: ${perSecond(2_000, performance.now() - began)}`);
  await store.close();
}
