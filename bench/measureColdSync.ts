/**
 * A client's first sync, step by step, with the CPU of each process that works for it (not a test:
 * run it by hand and read the numbers).
 *
 *   node --import tsx bench/measureColdSync.ts [targets=embedded,garage-delay-cold] [size=10000]
 *
 * Starts each target as `npm run bench` does (bench/targets.ts: the corpus imported; the Garage
 * targets behind the bench's delay proxies, which run in this process, the cold ones with the local
 * cache deleted), then runs the bench's first sync (bench/session.ts): connect, LOGIN, LIST, SELECT
 * INBOX; UID FETCH 1:* (FLAGS); the header list in chunks of 200; the 200 newest bodies. Prints per
 * step the wall time, the CPU of the server's process tree, of the storage host (the Garage daemons
 * this process started) and of this process (the IMAP client and the proxies), the storage
 * requests and bytes down, and the server's CPU by thread (bench/procCpu.ts; Node 20 names all
 * but the main thread "node": V8's GC and compiler helpers and libuv's file system workers). On two
 * shared cores the wall time swings with the load; the CPU a step costs moves far less, and says
 * which process to work on.
 *
 * With BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" the server writes a V8 profile of its
 * whole session; MARKS=1 prints each step's window for bench/profileSteps.mjs to cut it (as
 * bench/firstSyncSteps.ts does). PAUSE=MS waits that long between SELECT and the flags step: the
 * steps after it then meet less of the work a first open starts in the background (a second
 * computer's list segments and newest bodies), which says how much of their time that work is. With BENCH_PERF_RECORD=DIR, `perf record` samples every thread of
 * the server over the header list (bench/perfRecord.ts).
 */
import { ensureCorpus } from "./corpus.ts";
import { ImapWire, quoted } from "./imapWire.ts";
import { cpuMsByThread, cpuMsOf, garageChildren, loadAverage, processTree } from "./procCpu.ts";
import { startPerf } from "./perfRecord.ts";
import { makeTarget, targetNames, type RunningTarget, type TargetName } from "./targets.ts";

const targets = (process.argv[2] ?? "embedded,garage-delay-cold").split(",") as TargetName[];
const size = Number(process.argv[3] ?? 10000);
for (const t of targets) if (!targetNames.includes(t)) throw new Error(`unknown target ${t}`);
const TB_HEADERS =
  "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";

const repeat = Math.max(1, Number(process.env.REPEAT ?? 1));
const corpus = await ensureCorpus(size, { log: (l) => console.log(l) });
for (const name of targets) {
  const target = makeTarget(name);
  const started = await target.start(corpus, () => {});
  let running = { ...started };
  const totals = new Map<string, number[]>();
  try {
    for (let round = 1; round <= repeat; round++) {
      if (round > 1) {
        if (!started.restart) throw new Error(`REPEAT: ${name} cannot restart`);
        running = { ...running, ...(await started.restart()) };
      }
      // IDLE=MS: the server sits idle that long first, as one does in `npm run bench` while the
      // targets before it run their sessions.
      const idle = Number(process.env.IDLE ?? 0);
      if (idle > 0) await new Promise((resolve) => setTimeout(resolve, idle));
      await session(name, running, totals);
    }
    if (repeat > 1)
      console.log(
        `${name}, median of ${repeat} fresh processes: ` +
          [...totals].map(([step, ms]) => `${step} ${median(ms).toFixed(0)} ms`).join(", "),
      );
  } finally {
    await target.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function session(name: string, running: RunningTarget, totals: Map<string, number[]>) {
  const server = await processTree(running.pid);
  const garage = name.startsWith("garage") ? await garageChildren() : [];
  running.resetStorageStats?.();
  const lines: string[] = [];
  const marks: string[] = [];
  const micros = () => Number(process.hrtime.bigint() / 1000n);
  const step = async (label: string, run: () => Promise<unknown>) => {
    const counted0 = running.storageCounters?.();
    const [s0, g0, c0] = [await cpuMsOf(server), await cpuMsOf(garage), process.cpuUsage()];
    const threads0 = await cpuMsByThread(running.pid);
    const t0 = performance.now();
    const u0 = micros();
    await run();
    marks.push(`${label} ${u0} ${micros()}`);
    const ms = performance.now() - t0;
    totals.set(label, [...(totals.get(label) ?? []), ms]);
    const c = process.cpuUsage(c0);
    const [s1, g1] = [await cpuMsOf(server), await cpuMsOf(garage)];
    const threads = [...(await cpuMsByThread(running.pid))]
      .map(([t, cpu]) => [t, cpu - (threads0.get(t) ?? 0)] as const)
      .filter(([, cpu]) => cpu > 0)
      .sort((a, b) => b[1] - a[1]);
    const counted1 = running.storageCounters?.();
    const storage =
      counted0 && counted1
        ? `; ${counted1.requests - counted0.requests} requests, ` +
          `${((counted1.bytesDown - counted0.bytesDown) / 1e6).toFixed(1)} MB down`
        : "";
    lines.push(
      `  ${label.padEnd(8)} ${ms.toFixed(0).padStart(6)} ms; CPU: server ${s1 - s0}` +
        (garage.length ? `, Garage ${g1 - g0}` : "") +
        `, client and proxies ${((c.user + c.system) / 1000).toFixed(0)} ms${storage}\n` +
        `           the server's threads: ${threads.map(([t, cpu]) => `${t} ${cpu}`).join(", ")}`,
    );
  };
  let wire: ImapWire | undefined;
  let uids: number[] = [];
  await step("open", async () => {
    wire = await ImapWire.open(running.host, running.port);
    await wire.command(`LOGIN ${quoted(running.user)} ${quoted(running.password)}`);
    await wire.command('LIST "" "*"');
    await wire.command("SELECT INBOX");
  });
  const pause = Number(process.env.PAUSE ?? 0);
  if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  await step("flags", async () => {
    const t = await wire!.command("UID FETCH 1:* (FLAGS)");
    uids = t.untagged.flatMap((r) => {
      const m = /UID (\d+)/.exec(r.text);
      return m ? [Number(m[1])] : [];
    });
  });
  const perf = await startPerf(`${name}-headers`, running.pid);
  await step("headers", async () => {
    for (let i = 0; i < uids.length; i += 200) {
      const range = `${uids[i]}:${uids[Math.min(i + 199, uids.length - 1)]}`;
      await wire!.command(
        `UID FETCH ${range} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${TB_HEADERS})])`,
      );
    }
  });
  await perf?.stop();
  await step("bodies", () =>
    wire!.command(`UID FETCH ${uids.at(-200)}:${uids.at(-1)} (UID RFC822.SIZE BODY.PEEK[])`),
  );
  await wire!.close();
  console.log(`${name}, ${uids.length} messages (load average ${await loadAverage()}):\n${lines.join("\n")}`);
  if (process.env.MARKS === "1") console.log(marks.join("\n"));
}
