/**
 * `npm run load -- [--duration 60] [--clients 10] [--mailboxes 1] [--targets embedded,dovecot]
 *                  [--watchdog 2000] [--seed N] [--window 10] [--out FILE] [--crash-at S]
 *                  [--no-report]`
 * `LOAD_SOAK=1 npm run load` is the soak: 3600 s, and a kill -9 and restart of the server at a
 * seeded moment in the middle half (--crash-at S chooses it, on any run).
 *
 * Starts each target on an empty mailbox (targets.ts: embedded, garage, dovecot...), one after
 * another, and runs the same seeded load on each (loadRun.ts): N clients, random APPEND, FETCH
 * (flags, headers, bodies, partial), STORE, EXPUNGE, COPY, MOVE, SEARCH, IDLE, NOOP, LOGIN/LOGOUT
 * on INBOX (or, with --mailboxes N, client i on the i mod N-th of INBOX, LoadBox2...), every answer
 * checked; after the run one more session checks that everything acknowledged is there. Prints
 * throughput and RSS per window, latency percentiles, the watchdog's reports and the checker's
 * errors; saves them to bench/results/load-<clients>c[-<N>mbx]-<duration>s-<targets>.json and
 * renders bench/RESULTS.md again (runs of 10 minutes or more appear in its load section; see
 * report.ts). Exits 1 when a checker error or a watchdog report happened on a target other than
 * dovecot.
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchDir, cacheRoot, type Corpus } from "../corpus.ts";
import { writeResults } from "../report.ts";
import { treeRss } from "../rssSampler.ts";
import { makeTarget, targetNames, type TargetName } from "../targets.ts";
import { Prng } from "../prng.ts";
import { runLoad } from "./loadRun.ts";
import type { SavedTarget } from "./report.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "60" },
    clients: { type: "string", default: "10" },
    mailboxes: { type: "string", default: "1" },
    targets: { type: "string", default: "embedded,dovecot" },
    watchdog: { type: "string", default: "2000" },
    seed: { type: "string", default: "18" },
    window: { type: "string", default: "10" },
    out: { type: "string" },
    "crash-at": { type: "string" },
    "no-report": { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log(`npm run load -- [--duration 60] [--clients 10 (1-50)] [--mailboxes 1] [--targets embedded,dovecot]
                 [--watchdog 2000 (ms)] [--seed 18] [--window 10 (s)] [--out FILE] [--crash-at S]
                 [--no-report]
LOAD_SOAK=1 npm run load   the soak: 3600 s, one kill -9 and restart of the server
Targets: ${targetNames.join(", ")}. Environment: BENCH_SERVER_NODE_ARGS, BENCH_SERVER_LOG.
bench/load.md and bench/RESULTS.md ("Load") say what is run and checked.`);
  process.exit(0);
}

// LOAD_SOAK=1: the hour-long soak (issue 18), with one kill -9 and restart of the server at a
// seeded moment in its middle half; --duration and --crash-at still win when given.
const soak = process.env.LOAD_SOAK === "1";
if (soak && !process.argv.includes("--duration")) values.duration = "3600";

const num = (name: string, v: string, min: number, max: number) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be between ${min} and ${max}, got ${v}`);
  return n;
};
const durationS = num("duration", values.duration, 1, 86_400);
const clients = num("clients", values.clients, 1, 50);
const mailboxes = num("mailboxes", values.mailboxes, 1, clients);
const watchdogMs = num("watchdog", values.watchdog, 10, 600_000);
const seed = num("seed", values.seed, 0, 2 ** 31);
const windowS = num("window", values.window, 1, 600);
const crashAtS =
  values["crash-at"] !== undefined
    ? num("crash-at", values["crash-at"], 1, durationS - 1)
    : soak
      ? Math.round(durationS * (0.25 + 0.5 * new Prng(seed).next()))
      : undefined;
const wanted = values.targets
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of wanted)
  if (!(targetNames as readonly string[]).includes(name))
    throw new Error(`unknown target "${name}": choose from ${targetNames.join(", ")}`);

const log = (line: string) => console.log(line);

/** An empty Maildir: the load starts from an empty INBOX on every target. */
async function emptyCorpus(): Promise<Corpus> {
  await mkdir(cacheRoot, { recursive: true });
  const dir = await mkdtemp(join(cacheRoot, "load-empty-"));
  for (const sub of ["cur", "new", "tmp"]) await mkdir(join(dir, "Maildir", sub), { recursive: true });
  return {
    version: 0,
    seed,
    count: 0,
    totalBytes: 0,
    subjectMarker: "",
    subjectHits: 0,
    bodyMarker: "",
    bodyHits: 0,
    messages: [],
    dir,
  };
}

const corpus = await emptyCorpus();
const results: Record<string, SavedTarget> = {};
for (const name of wanted as TargetName[]) {
  const target = makeTarget(name);
  log(`target ${name}: starting`);
  try {
    const running = await target.start(corpus, log);
    const loadStart = loadavg()[0]!;
    log(
      `target ${name}: ${clients} clients on ${mailboxes} mailbox(es) for ${durationS} s, watchdog ${watchdogMs} ms (load average ${loadStart.toFixed(1)}${await cpuPressure()})`,
    );
    const result = await runLoad(running, {
      clients,
      mailboxes,
      durationMs: durationS * 1000,
      seed,
      watchdogMs,
      windowMs: windowS * 1000,
      rss: () => treeRss(running.pid),
      log,
      ...(crashAtS !== undefined && running.crash
        ? {
            crashAtMs: crashAtS * 1000,
            crash: async () => void Object.assign(running, await running.crash!()),
          }
        : {}),
    });
    results[name] = { ...result, loadAverage: { start: loadStart, end: loadavg()[0]! } };
    printSummary(name, result);
  } catch (err) {
    results[name] = { skipped: (err as Error).message };
    log(`target ${name}: SKIPPED: ${(err as Error).message}`);
  } finally {
    await target.stop().catch((err) => log(`target ${name}: stop failed: ${(err as Error).message}`));
  }
}

/** The share of time some task waited for a core over the last minute (Linux PSI), when readable. */
async function cpuPressure(): Promise<string> {
  const text = await readFile("/proc/pressure/cpu", "utf8").catch(() => "");
  const m = /^some .*avg60=([\d.]+)/m.exec(text);
  return m ? `, CPU pressure ${m[1]}%` : "";
}

function printSummary(name: string, r: Exclude<SavedTarget, { skipped: string }>) {
  const perMinute = r.windows.length ? r.windows : [];
  const first = perMinute.slice(0, Math.max(1, Math.round(60 / windowS)));
  const last = perMinute.slice(-Math.max(1, Math.round(60 / windowS)));
  const rate = (ws: typeof perMinute) => ws.reduce((s, w) => s + w.commands, 0) / (ws.length * windowS);
  log(
    `target ${name}: ${r.commands} commands (${(r.commands / r.seconds).toFixed(0)}/s), ${r.logins} logins in ${r.seconds.toFixed(0)} s`,
  );
  if (perMinute.length)
    log(`  commands/s, first minute ${rate(first).toFixed(0)}, last minute ${rate(last).toFixed(0)}`);
  for (const [cmd, p] of Object.entries(r.latency))
    log(`  ${cmd.padEnd(11)} n=${String(p.n).padEnd(7)} p50 ${p.p50} ms  p99 ${p.p99} ms  max ${p.max} ms`);
  log(`  max wait ${r.maxWaitMs} ms; ${r.waits.length} commands over the watchdog's ${watchdogMs} ms`);
  log(`  checker errors: ${r.checkerErrors} ${JSON.stringify(r.errorKinds)}`);
  for (const s of r.errorSamples) log(`    ${s}`);
  log(`  keywords not announced in FLAGS (counted apart): ${r.unannouncedKeywords}`);
  if (r.crash)
    log(
      `  kill -9 at ${r.crash.atS} s: ${"failed" in r.crash ? `no restart: ${r.crash.failed}` : `listening again after ${r.crash.restartMs} ms`}`,
    );
  for (const f of r.clientFailures) log(`  ${f}`);
}

const resultsDir = join(benchDir, "results");
const out =
  values.out ??
  join(
    resultsDir,
    `load-${clients}c${mailboxes > 1 ? `-${mailboxes}mbx` : ""}-${durationS}s-${wanted.join("+")}.json`,
  );
await mkdir(join(out, ".."), { recursive: true });
await writeFile(
  out,
  JSON.stringify(
    {
      command: `npm run load -- ${process.argv.slice(2).join(" ")}`.trim(),
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      machine: { nproc: cpus().length, loadAverageAtEnd: loadavg() },
      clients,
      mailboxes,
      durationS,
      watchdogMs,
      seed,
      results,
    },
    null,
    2,
  ) + "\n",
);
log(`saved ${out}`);
if (!values["no-report"]) {
  await writeResults(resultsDir, join(benchDir, "RESULTS.md"), join(benchDir, "notes.md"), targetNames);
  log("rendered bench/RESULTS.md (its load section shows the runs of 10 minutes or more)");
}
const bad = Object.entries(results).some(
  ([name, r]) =>
    name !== "dovecot" &&
    ("skipped" in r ||
      r.checkerErrors > 0 ||
      r.waits.length > 0 ||
      r.clientFailures.length > 0 ||
      (r.crash !== undefined && "failed" in r.crash)),
);
process.exit(bad ? 1 : 0);
