/**
 * The generated part of bench/RESULTS.md's load section: every saved run of `npm run load` that
 * lasted 10 minutes or more (bench/results/load-*.json, the issue's recorded length), with the
 * targets of one invocation side by side and issue 18's acceptance checked on each. bench/load.md
 * (hand-written) holds the rest of the section; these tables replace its `<!-- load-runs -->` line.
 */
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { LoadResult } from "./loadRun.ts";

/** A target's result as run.ts saves it: the run, and the machine's load around it. */
export type SavedTarget =
  (LoadResult & { loadAverage?: { start: number; end: number } }) | { skipped: string };

export interface SavedLoadRun {
  command: string;
  date: string;
  machine: { nproc: number; loadAverageAtEnd: number[] };
  clients: number;
  mailboxes?: number;
  durationS: number;
  watchdogMs: number;
  seed: number;
  results: Record<string, SavedTarget>;
}

export const RECORDED_MIN_S = 600;
export const LOAD_RUNS_MARKER = "<!-- load-runs -->";

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const ms = (x: number) => (x >= 10 ? n(x) : x.toFixed(1));
const mb = (bytes: number | undefined) => (bytes === undefined ? "–" : (bytes / 2 ** 20).toFixed(0));
const table = (head: string[], rows: string[][]) =>
  [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");

/**
 * Commands per second in each minute of the run, from its windows (10 s by default); the minute
 * the run ended in counts when its windows cover 30 s or more.
 */
export function perMinute(r: LoadResult): number[] {
  const minutes: { commands: number; from: number; to: number }[] = [];
  let before = 0;
  for (const w of r.windows) {
    const i = Math.max(0, Math.ceil(w.end / 60) - 1);
    const m = (minutes[i] ??= { commands: 0, from: before, to: before });
    m.commands += w.commands;
    m.to = w.end;
    before = w.end;
  }
  return minutes
    .filter((m, i) => m !== undefined && (i < minutes.length - 1 || m.to - m.from >= 30))
    .map((m) => m.commands / (m.to - m.from));
}

/** Issue 18's acceptance for one target's run: what holds, what does not. */
export function acceptance(run: SavedLoadRun, name: string, r: LoadResult): string[] {
  const out: string[] = [];
  const check = (ok: boolean, what: string) => out.push(`${ok ? "met" : "NOT met"}: ${what}`);
  const dovecot = run.results.dovecot;
  if (run.clients <= 10) {
    check(r.maxWaitMs <= 1000, `no command over 1 s (max ${ms(r.maxWaitMs)} ms)`);
    check(r.latency.all!.p99 < 100, `p99 under 100 ms (${ms(r.latency.all!.p99)} ms)`);
    if (name !== "dovecot" && dovecot && !("skipped" in dovecot))
      check(
        r.commands / r.seconds >= dovecot.commands / dovecot.seconds,
        `throughput at least Dovecot's (${n(r.commands / r.seconds)}/s against ${n(dovecot.commands / dovecot.seconds)}/s)`,
      );
  } else check(r.maxWaitMs <= 5000, `no command over 5 s (max ${ms(r.maxWaitMs)} ms)`);
  check(r.checkerErrors === 0, `0 checker errors (${r.checkerErrors})`);
  const minutes = perMinute(r);
  if (minutes.length >= 10)
    check(
      minutes.at(-1)! >= 0.8 * minutes[0]!,
      `last minute at least 80% of the first (${n(minutes[0]!)} and ${n(minutes.at(-1)!)} commands/s)`,
    );
  return out;
}

export function renderLoadRun(run: SavedLoadRun): string {
  const ran = Object.entries(run.results).filter((e): e is [string, LoadResult] => !("skipped" in e[1]));
  const skipped = Object.entries(run.results).filter(([, r]) => "skipped" in r);
  const cols = ran.map(([name]) => name);
  const row = (label: string, f: (r: LoadResult) => string) => [label, ...ran.map(([, r]) => f(r))];
  const la = (r: SavedTarget) =>
    "loadAverage" in r && r.loadAverage
      ? `${r.loadAverage.start.toFixed(0)} to ${r.loadAverage.end.toFixed(0)}`
      : "–";
  const rss = (r: LoadResult) => r.windows.map((w) => w.rssBytes).filter((b): b is number => b !== undefined);
  const summary = table(
    ["", ...cols],
    [
      row("commands", (r) => `${n(r.commands)} (${n(r.commands / r.seconds)}/s)`),
      row("logins", (r) => n(r.logins)),
      row("p50 / p99 / max, all commands, ms", (r) => {
        const a = r.latency.all!;
        return `${ms(a.p50)} / ${ms(a.p99)} / ${ms(a.max)}`;
      }),
      row(`commands over the ${n(run.watchdogMs)} ms watchdog`, (r) => n(r.waits.length)),
      row(
        "checker errors",
        (r) => `${r.checkerErrors}${r.checkerErrors ? ` ${JSON.stringify(r.errorKinds)}` : ""}`,
      ),
      row("keywords shown, not announced in FLAGS", (r) => n(r.unannouncedKeywords)),
      row("clients that stopped", (r) => n(r.clientFailures.length)),
      row("RSS start / end / max, MB", (r) => {
        const s = rss(r);
        return s.length ? `${mb(s[0])} / ${mb(s.at(-1))} / ${mb(s.reduce((a, b) => Math.max(a, b)))}` : "–";
      }),
      row("kill -9", (r) =>
        !r.crash
          ? "–"
          : "failed" in r.crash
            ? `at ${r.crash.atS} s, no restart`
            : `at ${r.crash.atS} s, back in ${n(r.crash.restartMs)} ms`,
      ),
      ["load average, start to end", ...ran.map(([, r]) => la(r))],
    ],
  );
  const minutes = ran.map(([, r]) => perMinute(r));
  const width = Math.max(0, ...minutes.map((m) => m.length));
  const throughput = table(
    ["minute", ...Array.from({ length: width }, (_, i) => String(i + 1))],
    ran.map(([name], i) => [
      name,
      ...Array.from({ length: width }, (_, m) => {
        const rate = minutes[i]![m];
        return rate === undefined ? "–" : n(rate);
      }),
    ]),
  );
  const commands = [...new Set(ran.flatMap(([, r]) => Object.keys(r.latency)))]
    .filter((c) => c !== "all")
    .sort();
  const latency = table(
    ["command", ...cols],
    commands.map((c) => [
      c,
      ...ran.map(([, r]) => {
        const p = r.latency[c];
        return p ? `${ms(p.p50)} / ${ms(p.p99)} / ${ms(p.max)}` : "–";
      }),
    ]),
  );
  const curves = ran.map(([name, r]) => `- ${name}: ${rss(r).map(mb).join(" ") || "not sampled"}`).join("\n");
  const verdicts = ran
    .filter(([name]) => name !== "dovecot")
    .map(([name, r]) => `- ${name}: ${acceptance(run, name, r).join("; ")}`)
    .join("\n");
  const mailboxes = run.mailboxes ?? 1;
  return `### ${run.clients} clients, ${mailboxes === 1 ? "one mailbox" : `${mailboxes} mailboxes`}, ${n(run.durationS)} s

- Command: \`${run.command}\`
- Finished ${run.date}; seed ${run.seed}; ${run.machine.nproc} cores, load average at the end ${run.machine.loadAverageAtEnd.map((x) => x.toFixed(1)).join(", ")}
${skipped.map(([name, r]) => `- **${name} skipped**: ${(r as { skipped: string }).skipped.split("\n")[0]}`).join("\n")}

${summary}

Commands per second, minute by minute:

${throughput}

Latency per command, ms (p50 / p99 / max):

${latency}

RSS of the server's process tree, MB, at the end of every window:

${curves}

Against issue 18's acceptance:

${verdicts}
`.replace(/\n{3,}/g, "\n\n");
}

/** Every recorded run (10 minutes or more) in `resultsDir`, fewest clients first. */
export async function renderLoadRuns(resultsDir: string): Promise<string> {
  const files = existsSync(resultsDir)
    ? (await readdir(resultsDir)).filter((f) => /^load-.*\.json$/.test(f))
    : [];
  // The latest run of each shape (clients, mailboxes, length, targets).
  const latest = new Map<string, SavedLoadRun>();
  for (const f of files) {
    const run = JSON.parse(await readFile(join(resultsDir, f), "utf8")) as SavedLoadRun;
    if (run.durationS < RECORDED_MIN_S) continue;
    const key = [run.clients, run.mailboxes ?? 1, run.durationS, Object.keys(run.results).sort()].join("|");
    const before = latest.get(key);
    if (!before || before.date < run.date) latest.set(key, run);
  }
  const runs = [...latest.values()];
  runs.sort(
    (a, b) => a.clients - b.clients || (a.mailboxes ?? 1) - (b.mailboxes ?? 1) || a.durationS - b.durationS,
  );
  if (runs.length === 0) return "No run of 10 minutes or more is saved in bench/results/ yet.\n";
  return runs.map(renderLoadRun).join("\n");
}
