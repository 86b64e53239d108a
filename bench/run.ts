/**
 * `npm run bench -- --size N [--targets dovecot,embedded,garage,garage-delay] [--phases a,b] [--no-report]`
 *
 * `--phases` runs only those phase keys (e.g. `append.seq,append.pipe,move`); the saved results
 * then hold only those phases.
 *
 * Generates (or reuses) the corpus, runs the same Thunderbird-shaped session against each target in
 * turn, samples each server's RSS, collects storage figures, saves bench/results/size-N.json and
 * renders bench/RESULTS.md. A target that fails to start is skipped with its reason in the report.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchDir, DEFAULT_SEED, ensureCorpus } from "./corpus.ts";
import { writeResults, type BenchRun, type TargetRun } from "./report.ts";
import { RssSampler } from "./rssSampler.ts";
import { runSession } from "./session.ts";
import { makeTarget, targetNames, type RunningTarget, type TargetName } from "./targets.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "1000" },
    targets: { type: "string", default: targetNames.join(",") },
    seed: { type: "string", default: String(DEFAULT_SEED) },
    phases: { type: "string" },
    "no-report": { type: "boolean", default: false },
  },
});

const size = Number(values.size);
if (!Number.isInteger(size) || size < 200)
  throw new Error(
    `--size must be a whole number of at least 200 (the session fetches 200 bodies), got ${values.size}`,
  );
const wanted = values.targets
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of wanted)
  if (!(targetNames as readonly string[]).includes(name))
    throw new Error(`unknown target "${name}": choose from ${targetNames.join(", ")}`);
const seed = Number(values.seed);
const only = values.phases
  ? new Set(
      values.phases
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
  : undefined;

const log = (line: string) => console.log(line);
const started = performance.now();
const corpus = await ensureCorpus(size, { seed, log });
log(`corpus: ${size} messages, ${(corpus.totalBytes / 1e6).toFixed(1)} MB in ${corpus.dir}`);

// Dovecot and the embedded store, which load in seconds, are loaded just before their own sessions
// and run first, on a quiet machine (Target.loadsJustBefore). The Garage targets are then loaded
// at once (loading is not measured, and their loads are slow), and their sessions run one after
// another while the other servers sit idle. The results keep the targets' order.
const targets = (wanted as TargetName[]).map((name) => makeTarget(name));
const order = [...targets.filter((t) => t.loadsJustBefore), ...targets.filter((t) => !t.loadsJustBefore)];
const byTarget = new Map<(typeof targets)[number], TargetRun>();
let earlyStarts: Map<(typeof targets)[number], Promise<PromiseSettledResult<RunningTarget>[]>> | undefined;
for (const target of order) {
  const name = target.name;
  if (target.loadsJustBefore) log(`starting and loading ${name}`);
  else if (!earlyStarts) {
    const early = order.filter((t) => !t.loadsJustBefore);
    log(`starting and loading ${early.map((t) => t.name).join(", ")} in parallel`);
    earlyStarts = new Map(early.map((t) => [t, Promise.allSettled([t.start(corpus, log)])]));
    await Promise.all(earlyStarts.values());
  }
  const [started] = await (earlyStarts?.get(target) ?? Promise.allSettled([target.start(corpus, log)]));
  if (!started) throw new Error(`no start for ${name}`);
  if (started.status === "rejected") {
    const reason = (started.reason as Error).message;
    log(`target ${name}: SKIPPED: ${reason}`);
    byTarget.set(target, { name, skipped: reason, notes: [], phases: [] });
    await target.stop().catch(() => undefined);
    continue;
  }
  let running = started.value;
  // A target loaded long before its session gets a fresh server process now, as the quick ones
  // have one just started: no target meets its own process paged out while it waited.
  if (!target.loadsJustBefore && running.fresh) running = { ...running, ...(await running.fresh()) };
  // What the load wrote is flushed first, so that its writeback does not run inside the session.
  if (target.loadsJustBefore) await flushWrites();
  log(`target ${name}: session`);
  const run: TargetRun = { name, notes: running.notes, phases: [] };
  byTarget.set(target, run);
  try {
    running.resetStorageStats?.();
    const sampler = new RssSampler(running.pid);
    const t0 = performance.now();
    try {
      run.phases = await runSession(running, corpus, {
        log,
        ...(only ? { only } : {}),
        ...(running.storageCounters ? { storageCounters: () => running.storageCounters!() } : {}),
        rssNow: () => sampler.now(),
      });
    } finally {
      run.wallSeconds = (performance.now() - t0) / 1000;
      run.rss = sampler.stop();
      const mbText = (b: number | undefined) => (b === undefined ? "?" : `${(b / 1e6).toFixed(1)} MB`);
      log(`target ${name}: peak RSS ${mbText(run.rss.peakTreeRss)}, VmHWM ${mbText(run.rss.rootHwm)}`);
    }
    run.storage = await running.storageStats?.();
  } catch (err) {
    run.notes.push(`session aborted: ${(err as Error).message}`);
    log(`target ${name}: session aborted: ${(err as Error).message}`);
  } finally {
    await target.stop().catch((err) => log(`target ${name}: stop failed: ${(err as Error).message}`));
  }
}

const runs = targets.flatMap((t) => {
  const run = byTarget.get(t);
  return run ? [run] : [];
});

/**
 * Whether the kernel pages out memory that went unused (DAMON's reclaim, on the bench machine:
 * a server idle for a minute then pages its code and files in again), for the results' machine line.
 */
async function pageoutNote(): Promise<{ pageout?: string }> {
  const damon = "/sys/kernel/mm/damon/admin/kdamonds/0";
  const read = (p: string) =>
    readFile(join(damon, p), "utf8").then(
      (t) => t.trim(),
      () => "",
    );
  if ((await read("state")) !== "on") return {};
  if ((await read("contexts/0/schemes/0/action")) !== "pageout") return {};
  const aggrUs = Number(await read("contexts/0/monitoring_attrs/intervals/aggr_us"));
  const minAge = Number(await read("contexts/0/schemes/0/access_pattern/age/min"));
  const after = aggrUs > 0 && minAge > 0 ? ` after ${((aggrUs * minAge) / 1e6).toFixed(0)} s` : "";
  return { pageout: `the kernel pages out memory left unused${after} (DAMON reclaim)` };
}

/** `sync`: the kernel writes every dirty page out before the call returns. */
async function flushWrites(): Promise<void> {
  await new Promise<void>((resolve) => execFile("sync", () => resolve()));
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const result: BenchRun = {
  size,
  corpusBytes: corpus.totalBytes,
  seed,
  command: `npm run bench -- --size ${size} --targets ${wanted.join(",")}${values.phases ? ` --phases ${values.phases}` : ""}`,
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  machine: {
    nproc: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    cpu,
    node: process.version,
    os: `${type()} ${release()}`,
    ...(await pageoutNote()),
  },
  wallSeconds: (performance.now() - started) / 1000,
  targets: runs,
};
const resultsDir = join(benchDir, "results");
if (values["no-report"]) log("--no-report: nothing saved");
else {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, `size-${size}.json`), JSON.stringify(result, null, 2) + "\n");
  await writeResults(resultsDir, join(benchDir, "RESULTS.md"), join(benchDir, "notes.md"), targetNames);
}
log(`done in ${result.wallSeconds.toFixed(0)} s: bench/results/size-${size}.json, bench/RESULTS.md`);
// Garage's harness and child processes may keep handles; everything was stopped above.
process.exit(0);
