/**
 * Quick checks of the bench's own parts, without any server: `node --import tsx bench/selfcheck.ts`.
 * The delay proxy must delay and count; the corpus generator must be deterministic.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCorpus, readCorpusMessage } from "./corpus.ts";
import { checkDelayProxy } from "./delayProxy.ts";

const rtt = await checkDelayProxy(20);
console.log(`delay proxy: 20 ms each way, round trip ${rtt.toFixed(1)} ms, counters right`);

const roots = [await mkdtemp(join(tmpdir(), "bench-a-")), await mkdtemp(join(tmpdir(), "bench-b-"))];
try {
  const [a, b] = [await ensureCorpus(60, { root: roots[0] }), await ensureCorpus(60, { root: roots[1] })];
  for (let i = 0; i < a.count; i++) {
    const [x, y] = [await readCorpusMessage(a, i), await readCorpusMessage(b, i)];
    if (!x.equals(y)) throw new Error(`corpus message ${i} differs between two runs with the same seed`);
  }
  const other = await ensureCorpus(60, { root: roots[1], seed: 7 });
  if ((await readCorpusMessage(other, 0)).equals(await readCorpusMessage(a, 0)))
    throw new Error("another seed gave the same first message");
  console.log(`corpus: same seed, same ${a.totalBytes} bytes; another seed, other bytes`);
} finally {
  for (const r of roots) await rm(r, { recursive: true, force: true });
}
