/**
 * Renders bench/RESULTS.md from the saved runs (bench/results/size-N.json, one per corpus size, the
 * latest run of each) and the hand-written analysis in bench/notes.md.
 */
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { firstSyncRss, issueTargets } from "./issueTargets.ts";
import { LOAD_RUNS_MARKER, renderLoadRuns } from "./load/report.ts";
import type { RssSample } from "./rssSampler.ts";
import type { PhaseResult } from "./session.ts";
import type { StorageStats } from "./targets.ts";

export interface TargetRun {
  name: string;
  skipped?: string;
  notes: string[];
  phases: PhaseResult[];
  rss?: RssSample;
  storage?: StorageStats;
  wallSeconds?: number;
}

export interface BenchRun {
  size: number;
  corpusBytes: number;
  seed: number;
  command: string;
  date: string;
  machine: {
    nproc: number;
    memoryGiB: number;
    cpu: string;
    node: string;
    os: string;
    /** What the kernel does with memory left unused (DAMON reclaim), when it does anything. */
    pageout?: string;
  };
  wallSeconds: number;
  targets: TargetRun[];
}

const fmtMs = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
const fmtBytes = (b: number) =>
  b >= 1e9
    ? `${(b / 1e9).toFixed(2)} GB`
    : b >= 1e6
      ? `${(b / 1e6).toFixed(1)} MB`
      : `${(b / 1e3).toFixed(0)} kB`;
const thousands = (n: number) => n.toLocaleString("en-US");

/** Problems that make a run partial: said at the top of its section, not buried in a cell. */
export function partialReasons(run: BenchRun, wanted: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of wanted) if (!run.targets.some((t) => t.name === name)) out.push(`${name} was not run`);
  for (const t of run.targets) {
    if (t.skipped) out.push(`${t.name} skipped: ${t.skipped.split("\n")[0]}`);
    for (const p of t.phases) if (p.error) out.push(`${t.name}, ${p.label}: ${p.error}`);
  }
  return out;
}

function phaseTable(run: BenchRun): string {
  const ran = run.targets.filter((t) => !t.skipped);
  const dovecot = ran.find((t) => t.name === "dovecot");
  const keys: { key: string; label: string }[] = [];
  for (const t of ran) for (const p of t.phases) if (!keys.some((k) => k.key === p.key)) keys.push(p);
  const head = [
    "phase",
    ...ran.flatMap((t) => (t.name === "dovecot" || !dovecot ? [t.name] : [t.name, "× dovecot"])),
  ];
  const rows = keys.map(({ key, label }) => {
    const base = dovecot?.phases.find((p) => p.key === key)?.ms;
    const cells = ran.flatMap((t) => {
      const p = t.phases.find((x) => x.key === key);
      const cell = !p ? "–" : p.error ? "failed" : fmtMs(p.ms!);
      if (t.name === "dovecot" || !dovecot) return [cell];
      const ratio = p?.ms !== undefined && base ? `${(p.ms / base).toFixed(p.ms / base < 1 ? 2 : 1)}×` : "–";
      return [cell, ratio];
    });
    return [label.replace(/\|/g, "\\|"), ...cells];
  });
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function resourceTable(run: BenchRun): string {
  const ran = run.targets.filter((t) => !t.skipped);
  const row = (label: string, f: (t: TargetRun) => string) => `| ${label} | ${ran.map(f).join(" | ")} |`;
  const s = (t: TargetRun, k: keyof StorageStats, fmt: (n: number) => string) =>
    t.storage?.[k] !== undefined ? fmt(t.storage[k]) : "–";
  return [
    `| | ${ran.map((t) => t.name).join(" | ")} |`,
    `| --- | ${ran.map(() => "---").join(" | ")} |`,
    row("peak RSS, server process tree (sampled every 100 ms)", (t) =>
      t.rss ? fmtBytes(t.rss.peakTreeRss) : "–",
    ),
    row("VmHWM of the server's main process", (t) => (t.rss?.rootHwm ? fmtBytes(t.rss.rootHwm) : "–")),
    row("RSS after the first sync, server process tree (when its bodies came back)", (t) =>
      firstSyncRss(t) ? fmtBytes(firstSyncRss(t)!.after) : "–",
    ),
    row("peak RSS up to the end of the first sync (sampled every 100 ms)", (t) =>
      firstSyncRss(t) ? fmtBytes(firstSyncRss(t)!.peak) : "–",
    ),
    row("store size on disk after the session", (t) => s(t, "storedBytes", fmtBytes)),
    row("storage requests during the session", (t) => s(t, "requests", thousands)),
    row("storage connections during the session", (t) => s(t, "connections", thousands)),
    row("bytes sent to storage during the session", (t) => s(t, "bytesUp", fmtBytes)),
    row("bytes read from storage during the session", (t) => s(t, "bytesDown", fmtBytes)),
    row("session wall time", (t) => (t.wallSeconds !== undefined ? `${t.wallSeconds.toFixed(1)} s` : "–")),
  ].join("\n");
}

/** Storage requests, new connections and bytes per phase, for the targets that count them. */
function storagePhaseTable(run: BenchRun): string {
  const counted = run.targets.filter((t) => !t.skipped && t.phases.some((p) => p.storage));
  if (counted.length === 0) return "No target of this run counted its storage traffic per phase.";
  const head = ["target", "phase", "requests", "new connections", "bytes up", "bytes down"];
  const rows = counted.flatMap((t) =>
    t.phases
      .filter((p) => p.storage)
      .map((p) => [
        t.name,
        p.label.replace(/\|/g, "\\|"),
        thousands(p.storage!.requests),
        thousands(p.storage!.connections),
        fmtBytes(p.storage!.bytesUp),
        fmtBytes(p.storage!.bytesDown),
      ]),
  );
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function details(run: BenchRun): string {
  const lines: string[] = [];
  for (const t of run.targets) {
    if (t.skipped) {
      lines.push(`- **${t.name}**: skipped. ${t.skipped.replace(/\n+/g, " ").slice(0, 600)}`);
      continue;
    }
    const bits = [
      ...t.notes,
      ...t.phases
        .filter((p) => p.detail || p.error)
        .map((p) => `${p.label}: ${p.error ? `FAILED: ${p.error}` : p.detail}`),
    ];
    lines.push(`- **${t.name}**`, ...bits.map((b) => `  - ${b}`));
  }
  return lines.join("\n");
}

export function renderRun(run: BenchRun, wanted: readonly string[]): string {
  const partial = partialReasons(run, wanted);
  const status = partial.length
    ? `**PARTIAL RUN: these numbers are not final.**\n\n${partial.map((p) => `- ${p}`).join("\n")}`
    : "Complete: every target ran and every phase passed its checks.";
  const m = run.machine;
  return `## ${thousands(run.size)} messages (${fmtBytes(run.corpusBytes)})

- Command: \`${run.command}\`
- Date: ${run.date}; whole run ${run.wallSeconds.toFixed(0)} s
- Machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGiB.toFixed(0)} GiB memory, ${m.os}, Node ${m.node}${m.pageout ? `; ${m.pageout}` : ""}
- Corpus: seed ${run.seed}, generated by bench/corpus.ts

${status}

### Time per phase

${phaseTable(run)}

### Memory and storage

${resourceTable(run)}

### Storage traffic per phase

${storagePhaseTable(run)}

### Details

${details(run)}

### Against the issue's targets

${issueTargets(run)}
`;
}

export async function writeResults(
  resultsDir: string,
  out: string,
  notesFile: string,
  wanted: readonly string[],
): Promise<void> {
  const files = existsSync(resultsDir)
    ? (await readdir(resultsDir)).filter((f) => /^size-\d+\.json$/.test(f))
    : [];
  const runs: BenchRun[] = [];
  for (const f of files) runs.push(JSON.parse(await readFile(join(resultsDir, f), "utf8")) as BenchRun);
  runs.sort((a, b) => a.size - b.size);
  const notes = existsSync(notesFile) ? await readFile(notesFile, "utf8") : "";
  // The load runs (npm run load): bench/load.md by hand, its marker line replaced by the tables of
  // the saved runs of 10 minutes or more.
  const loadFile = join(dirname(notesFile), "load.md");
  const loadNotes = existsSync(loadFile) ? await readFile(loadFile, "utf8") : "";
  const load = loadNotes.includes(LOAD_RUNS_MARKER)
    ? loadNotes.replace(LOAD_RUNS_MARKER, (await renderLoadRuns(resultsDir)).trimEnd())
    : loadNotes;
  const text = `# Benchmark results

Generated by \`npm run bench\` (bench/run.ts) from bench/results/*.json; the analysis at the end is
bench/notes.md. Each section is the latest run at that corpus size. Times are wall-clock on the
client side, one session per target, all targets in the same run on the same corpus.

${runs.map((r) => renderRun(r, wanted)).join("\n")}
${load ? `${load}\n` : ""}${notes}`;
  await writeFile(out, text);
}
