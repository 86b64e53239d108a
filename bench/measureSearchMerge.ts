/**
 * What the search index holds in memory while messages stream in as under steady APPENDs, files
 * written at the character cap and merged when the index decides to (issue 18). Not a test: run
 * it by hand, with the launcher's memory settings to see what a server would:
 *
 *   MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --heap-growing-percent=100 \
 *     --import tsx bench/measureSearchMerge.ts [FILES] [CHARS]
 *
 * Adds seeded messages of about CHARS characters of text (default 13,000: the load tool's mean)
 * one per event-loop turn, FILES files (default 30) of 4 Mi characters each, then
 * prints the segment files left, the peak RSS and array buffers (sampled every 20 ms), and glibc's
 * main arena at the end (/proc/self/smaps).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { randomKey } from "../src/crypto/aead.ts";
import { loadSodium } from "../src/crypto/sodium.ts";
import type { SearchDoc } from "../src/mail/search/searchDoc.ts";
import { SearchIndex } from "../src/mail/search/searchIndex.ts";
import { trigramSignature } from "../src/mail/search/trigramSignature.ts";
import { Prng } from "./prng.ts";

const files = Number(process.argv[2] ?? 30);
const chars = Number(process.argv[3] ?? 13_000);
const capChars = 4 * 2 ** 20;
const words = ["mail", "server", "local", "garage", "bayou", "index", "search", "merge", "arena", "body"];

function text(prng: Prng, length: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < length) {
    const w = `${words[prng.int(0, words.length - 1)]!}${prng.int(0, 999)}`;
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(" ");
}

function doc(prng: Prng, i: number): SearchDoc {
  const bodyText = text(prng, chars);
  const headerText = `subject: message ${i}`;
  return {
    id: `id-${String(i).padStart(6, "0")}`,
    internalDate: 1_700_000_000_000 + i,
    size: chars,
    sentDay: 1_699_920_000_000,
    headerText,
    fields: ["subject", `message ${i}`],
    bodyText,
    signature: trigramSignature(bodyText),
    headerSignature: trigramSignature(headerText),
  };
}

async function mainArenaMiB(): Promise<number> {
  const smaps = await readFile("/proc/self/smaps", "utf8").catch(() => "");
  let inHeap = false;
  let kb = 0;
  for (const line of smaps.split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith("[heap]");
    else if (inHeap && line.startsWith("Rss:")) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb / 1024;
}

await loadSodium();
const dir = await mkdtemp(join(tmpdir(), "agl-merge-bench-"));
const index = new SearchIndex(join(dir, "index"), randomKey(), () => undefined);
await index.open();
const mib = (b: number) => b / 2 ** 20;
let peakRss = 0;
let peakBuffers = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
}, 20);
const prng = new Prng(18);
const started = performance.now();
// A file's worth at a time, then its write awaited: every file is written at the cap, as under
// APPENDs that the writes keep up with (a slower write takes more messages in one file).
const perFile = Math.floor(capChars / (chars + 100)); // just under the cap: one write per file
const count = files * perFile;
for (let i = 0; i < count; i++) {
  index.add(doc(prng, i));
  await nextTurn();
  if ((i + 1) % perFile === 0) await index.flush();
}
await index.flush();
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const left = (await readdir(join(dir, "index"))).filter((f) => f.endsWith(".seg")).length;
console.log(
  `${count} messages of ~${chars} characters in ${seconds.toFixed(1)} s: ${left} segment files; ` +
    `peak RSS ${mib(peakRss).toFixed(0)} MB, peak array buffers ${mib(peakBuffers).toFixed(0)} MB, ` +
    `main arena at the end ${(await mainArenaMiB()).toFixed(0)} MB, RSS at the end ${mib(process.memoryUsage().rss).toFixed(0)} MB`,
);
await index.close();
await rm(dir, { recursive: true, force: true });
