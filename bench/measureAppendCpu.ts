/**
 * Where a sequential APPEND's time goes, process by process (not a test: run it by hand and read
 * the numbers).
 *
 *   node --import tsx bench/measureAppendCpu.ts [targets=dovecot,embedded,garage] [appends=300] [size=1000]
 *
 * Starts each target as `npm run bench` does (bench/targets.ts: the corpus imported, Garage behind
 * the bench's 0 ms counting proxy, which runs in this process), then APPENDs `appends` corpus
 * messages one at a time to a new mailbox, as the bench's append.seq phase does, and prints per
 * APPEND: the wall time (median and mean) and the CPU time of the server's process tree, of the
 * storage host (the Garage daemons this process started) and of this process (the IMAP client and
 * the proxy). CPU times come from /proc and are far steadier under a shared machine's load than the
 * wall time: on 2 cores, an APPEND cannot take less than the CPU its steps spend one after another.
 *
 * With BENCH_PERF_RECORD=DIR (and `perf` installed), `perf record -g` samples the server's process,
 * every thread, over the APPENDs only, into DIR/<target>.perf.data: CPU time, not wall time (V8's
 * --cpu-prof samples a thread waiting for a core too). Add BENCH_SERVER_NODE_ARGS=--perf-basic-prof
 * to name the JavaScript frames, and read it with `perf report -i FILE --no-children`.
 *
 * V8's optimising compiles over the APPENDs: BENCH_SERVER_NODE_ARGS="--trace-opt --trace-deopt"
 * with BENCH_SERVER_STDOUT=FILE (the server's stdout, each line after the time it arrived) and
 * BENCH_MARK_PHASE=1 (this prints the times the APPENDs start and end).
 *
 * With BENCH_STRACE=DIR (and `strace` installed), the server's process tree's fsyncs, fdatasyncs
 * and renames over the APPENDs are counted into DIR/<target>.strace (bench/straceCount.ts).
 */
import { ensureCorpus, readCorpusMessage } from "./corpus.ts";
import { ImapWire, quoted } from "./imapWire.ts";
import { imapDateTime } from "./mimeEncode.ts";
import { startPerf } from "./perfRecord.ts";
import { startStrace } from "./straceCount.ts";
import { cpuMsByThread, cpuMsOf, garageChildren, loadAverage, processTree } from "./procCpu.ts";
import { makeTarget, targetNames, type TargetName } from "./targets.ts";

const targets = (process.argv[2] ?? "dovecot,embedded,garage").split(",") as TargetName[];
const appends = Number(process.argv[3] ?? 300);
const size = Number(process.argv[4] ?? 1000);
for (const t of targets) if (!targetNames.includes(t)) throw new Error(`unknown target ${t}`);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!;

const corpus = await ensureCorpus(size, { log: (l) => console.log(l) });
const messages = await Promise.all(
  Array.from({ length: Math.min(appends, corpus.count) }, (_, i) => readCorpusMessage(corpus, i)),
);
const avgKb = messages.reduce((a, m) => a + m.length, 0) / messages.length / 1024;
console.log(`${messages.length} APPENDs one at a time, ${avgKb.toFixed(1)} KiB each on average`);

for (const name of targets) {
  const target = makeTarget(name);
  const running = await target.start(corpus, () => {});
  try {
    const wire = await ImapWire.open(running.host, running.port);
    await wire.command(`LOGIN ${quoted(running.user)} ${quoted(running.password)}`);
    await wire.command('CREATE "Measure-Seq"');
    const server = await processTree(running.pid);
    const garage = name.startsWith("garage") ? await garageChildren() : [];
    const requests0 = running.storageCounters?.().requests ?? 0;
    const [s0, g0, c0] = [await cpuMsOf(server), await cpuMsOf(garage), process.cpuUsage()];
    const threads0 = await cpuMsByThread(running.pid);
    const perf = await startPerf(name, running.pid);
    const strace = await startStrace(name, server);
    const wall: number[] = [];
    // The server's CPU per APPEND in each quarter of the run: a fresh process compiles its APPEND
    // path (V8's optimising compiler, on its own threads) during the first ones.
    const quarters: number[] = [];
    let sq = s0;
    const t0 = performance.now();
    if (process.env.BENCH_MARK_PHASE) console.log(`phase start ${Date.now()}`);
    for (let i = 0; i < messages.length; i++) {
      if (i > 0 && i % Math.ceil(messages.length / 4) === 0) {
        const now = await cpuMsOf(server);
        quarters.push((now - sq) / Math.ceil(messages.length / 4));
        sq = now;
      }
      const t = performance.now();
      await wire.command(`APPEND "Measure-Seq" (\\Seen) "${imapDateTime(corpus.messages[i]!.date)}"`, {
        literal: messages[i]!,
      });
      wall.push(performance.now() - t);
    }
    const total = performance.now() - t0;
    if (process.env.BENCH_MARK_PHASE) console.log(`phase end ${Date.now()}`);
    await perf?.stop();
    await strace?.stop();
    const c1 = process.cpuUsage(c0);
    const [s1, g1] = [await cpuMsOf(server), await cpuMsOf(garage)];
    quarters.push((s1 - sq) / (messages.length - Math.ceil(messages.length / 4) * quarters.length));
    const threads1 = await cpuMsByThread(running.pid);
    const n = messages.length;
    const requests = (running.storageCounters?.().requests ?? 0) - requests0;
    const load = await loadAverage();
    console.log(`${name} (load average ${load}):`);
    console.log(
      `  wall per APPEND: median ${quantile(wall, 0.5).toFixed(2)} ms, p90 ${quantile(wall, 0.9).toFixed(2)} ms, mean ${(total / n).toFixed(2)} ms`,
    );
    console.log(
      `  CPU per APPEND: server ${((s1 - s0) / n).toFixed(2)} ms` +
        (garage.length ? `, Garage ${((g1 - g0) / n).toFixed(2)} ms` : "") +
        `, client and proxy ${((c1.user + c1.system) / 1000 / n).toFixed(2)} ms` +
        (running.storageCounters ? `; storage requests per APPEND ${(requests / n).toFixed(2)}` : ""),
    );
    console.log(
      `  the server's CPU per APPEND by quarter of the run: ${quarters.map((q) => q.toFixed(2)).join(", ")} ms`,
    );
    if (!name.startsWith("dovecot")) {
      const byThread = [...threads1]
        .map(([t, ms]) => [t, (ms - (threads0.get(t) ?? 0)) / n] as const)
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[1] - a[1]);
      console.log(
        `  the server's CPU by thread: ${byThread.map(([t, ms]) => `${t} ${ms.toFixed(2)} ms`).join(", ")}`,
      );
    }
    await wire.close();
  } finally {
    await target.stop();
  }
}
