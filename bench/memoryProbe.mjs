/**
 * Where a server's resident memory sits, sampled from inside it (not a test: preload it by hand).
 *
 *   MEMORY_PROBE_FILE=/tmp/probe.jsonl BENCH_SERVER_NODE_ARGS="--expose-gc \
 *     --import=./bench/memoryProbe.mjs ..." npm run load -- ...
 *
 * Every MEMORY_PROBE_MS (default 10,000) it appends one JSON line to MEMORY_PROBE_FILE: seconds
 * since start, process.memoryUsage(), each V8 heap space's used and committed size, and RSS split
 * by mapping from /proc/self/smaps: glibc's main arena ("[heap]"), the other arenas (anonymous
 * 64 MiB-aligned reservations), other anonymous mappings (V8's pages and malloc's large blocks),
 * file-backed code and data, thread stacks. With --expose-gc and MEMORY_PROBE_GC_EVERY=N, every
 * Nth sample first runs a full gc, so the line shows what is live against what was only not yet
 * collected. Loaded with --import, it runs before the server and holds no reference into it.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";

const file = process.env.MEMORY_PROBE_FILE;
const everyMs = Number(process.env.MEMORY_PROBE_MS ?? 10_000);
const gcEvery = Number(process.env.MEMORY_PROBE_GC_EVERY ?? 0);
const started = Date.now();
let samples = 0;

const mib = (/** @type {number} */ bytes) => Math.round((bytes / 1048576) * 10) / 10;

/** RSS by kind of mapping; glibc's secondary arenas are 64 MiB reservations aligned to 64 MiB. */
function smapsSplit() {
  const split = { mainArena: 0, otherArenas: 0, anonOther: 0, fileBacked: 0, stacks: 0, anonTotal: 0 };
  let text;
  try {
    text = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return split;
  }
  /** @type {keyof typeof split} */
  let kind = "anonOther";
  let arenaEnd = 0;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const start = parseInt(head[1], 16);
      const end = parseInt(head[2], 16);
      const inode = head[3];
      const name = head[4];
      if (name === "[heap]") kind = "mainArena";
      else if (name.startsWith("[stack")) kind = "stacks";
      else if (inode !== "0" || name.startsWith("/")) kind = "fileBacked";
      else if (start % 0x4000000 === 0 && end - start <= 0x4000000) {
        kind = "otherArenas";
        arenaEnd = start + 0x4000000;
      } else if (start < arenaEnd)
        kind = "otherArenas"; // the arena's PROT_NONE tail, split off
      else kind = "anonOther";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      const bytes = Number(rss[1]) * 1024;
      split[kind] += bytes;
      if (kind !== "fileBacked") split.anonTotal += bytes;
    }
  }
  return split;
}

function sample() {
  samples++;
  const gc = globalThis.gc;
  const collected = gcEvery > 0 && samples % gcEvery === 0 && typeof gc === "function";
  if (collected && gc) gc();
  const usage = process.memoryUsage();
  /** @type {Record<string, [number, number]>} */
  const spaces = {};
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = [mib(s.space_used_size), mib(s.physical_space_size)];
  }
  const split = smapsSplit();
  const line = {
    t: Math.round((Date.now() - started) / 100) / 10,
    gc: collected,
    rss: mib(usage.rss),
    heapTotal: mib(usage.heapTotal),
    heapUsed: mib(usage.heapUsed),
    external: mib(usage.external),
    arrayBuffers: mib(usage.arrayBuffers),
    spaces,
    smaps: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, mib(v)])),
  };
  appendFileSync(String(file), `${JSON.stringify(line)}\n`);
}

if (file) setInterval(sample, everyMs).unref();
