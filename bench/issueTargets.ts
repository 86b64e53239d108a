/**
 * The "Against the issue's targets" section of bench/RESULTS.md: every target of issue 11 (a
 * remote Garage as fast as a local disk), each with this run's figure and met or missed, or "not
 * measured in this run" when the run lacks the target or phase it needs. Targets that are a
 * property of the code rather than a figure name the tests that hold them.
 */
import type { BenchRun, TargetRun } from "./report.ts";
import { headerSearches } from "./headerHits.ts";

/** The RSS sampled when the first sync's last step (the bodies) ended; absent in older runs. */
export function firstSyncRss(t: TargetRun): { after: number; peak: number } | undefined {
  return t.phases.find((p) => p.key === "sync.bodies")?.rss;
}

const fmtMs = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
const fmtMB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const thousands = (n: number) => n.toLocaleString("en-US");
const ratio = (x: number) => `${x.toFixed(2)}×`;

/** The APPEND phases write this many messages (bench/session.ts, `writes`). */
const WRITES = 500;

interface Check {
  goal: string;
  /** The corpus size the issue states the target for; undefined when it does not depend on it. */
  statedAt?: number;
  /** Figure and limit, same unit; undefined when this run lacks what the figure needs. */
  value?: number;
  limit?: number;
  unit: (x: number) => string;
  /** Shown after the figure (what it was computed from). */
  from?: string;
}

function checkLine(c: Check, size: number): string {
  if (c.value === undefined || c.limit === undefined) return `- ${c.goal}: not measured in this run`;
  const missedBy = ((c.value / c.limit - 1) * 100).toFixed(0);
  const verdict = c.value <= c.limit ? "met" : `missed by ${missedBy}%`;
  const sizeNote =
    c.statedAt !== undefined && c.statedAt !== size
      ? ` (at ${thousands(size)} messages; the target is stated for ${thousands(c.statedAt)})`
      : "";
  const from = c.from ? ` (${c.from})` : "";
  return `- ${c.goal}: ${c.unit(c.value)}${from} against ${c.unit(c.limit)}, ${verdict}${sizeNote}`;
}

export function issueTargets(run: BenchRun): string {
  const target = (name: string): TargetRun | undefined =>
    run.targets.find((t) => t.name === name && !t.skipped);
  const phase = (name: string, key: string) => target(name)?.phases.find((p) => p.key === key);
  const ms = (name: string, key: string) => phase(name, key)?.ms;
  /** `a`'s time over `b`'s for one phase, checked against `limit`. */
  const times = (goal: string, a: string, b: string, key: string, limit: number, statedAt?: number) => {
    const x = ms(a, key);
    const y = ms(b, key);
    const both = x !== undefined && y !== undefined && y > 0;
    return checkLine(
      {
        goal,
        statedAt,
        value: both ? x / y : undefined,
        limit: both ? limit : undefined,
        unit: ratio,
        from: both ? `${fmtMs(x)} against ${fmtMs(y)}` : undefined,
      },
      run.size,
    );
  };
  const size = run.size;
  const writes = Math.min(WRITES, size);
  const lines: string[] = [];
  const section = (title: string, ...items: string[]) => lines.push("", `${title}:`, "", ...items);

  section(
    "The embedded store",
    times("first sync, embedded within 1.2× Dovecot", "embedded", "dovecot", "sync.total", 1.2, 10_000),
  );

  // One round trip per APPEND: what a delayed target adds per message over the embedded store,
  // against one round trip (2 × 20 ms) and a half for the work around it.
  const gd = ms("garage-delay", "append.seq");
  const em = ms("embedded", "append.seq");
  const pipe = phase("garage", "append.pipe")?.storage;
  const warmConnections = (name: string): Check => {
    const s = target(name)?.storage;
    return {
      goal:
        `new storage connections in a warm session (${name}) close to 0: at most 32 (the S3 and K2V ` +
        "pools of 16, each kept alive, on loopback too: src/storage/net/s3Client.ts, earlyAck.ts)",
      value: s?.connections,
      limit: s ? 32 : undefined,
      unit: thousands,
      from: s ? `${thousands(s.requests ?? 0)} requests` : undefined,
    };
  };
  section(
    "APPEND and every other write",
    times("sequential APPEND, embedded within 2× Dovecot", "embedded", "dovecot", "append.seq", 2),
    times("sequential APPEND, garage (no delay) within 3× Dovecot", "garage", "dovecot", "append.seq", 3),
    checkLine(
      {
        goal: "an APPEND acknowledged after one storage round trip: garage-delay's time per APPEND over the embedded store's within 1.5 round trips (60 ms)",
        value: gd !== undefined && em !== undefined ? (gd - em) / writes : undefined,
        limit: gd !== undefined && em !== undefined ? 60 : undefined,
        unit: fmtMs,
      },
      size,
    ),
    pipe
      ? `- pipelined APPENDs batch their rows: ${(pipe.requests / writes).toFixed(1)} storage requests per message on garage (no limit stated; 1 body PUT each, the rows batched)`
      : "- pipelined APPENDs batch their rows (storage requests per message on garage): not measured in this run",
    ...["garage", "garage-delay", "garage-rtt100"].map((n) => checkLine(warmConnections(n), size)),
  );

  const cold = (name: string, limit: number, label: string) =>
    times(
      `cold first sync (no local cache), ${label}, within ${limit}× the embedded store`,
      name,
      "embedded",
      "sync.total",
      limit,
      10_000,
    );
  section(
    "A second computer",
    cold("garage-delay-cold", 1.5, "20 ms each way"),
    cold("garage-rtt100-cold", 3, "100 ms round trip (50 ms each way)"),
    "- the background cache fill (meta first, then bodies newest first, under the cap, yielding to clients, progress in `status`): not a bench figure; test/mail/cacheFill.test.ts",
    "- the local cache bounded (LRU by bytes) and rid of messages expunged elsewhere: not a bench figure; test/storage/localCache.test.ts, test/mail/cacheFill.test.ts",
  );

  section(
    "Search from a local encrypted index",
    ...["embedded", "garage", "garage-delay", "garage-rtt100"].map((n) =>
      times(`SEARCH BODY, ${n}, within 1× Dovecot`, n, "dovecot", "search.body", 1, 10_000),
    ),
    ...["embedded", "garage", "garage-delay", "garage-rtt100"].map((n) =>
      times(`SEARCH SUBJECT, ${n}, within 2× Dovecot`, n, "dovecot", "search.subject", 2, 10_000),
    ),
    ...headerSearches.flatMap((h) =>
      ["embedded", "garage", "garage-delay", "garage-rtt100"].map((n) =>
        times(`SEARCH ${h.criterion}, ${n}, within 2× Dovecot`, n, "dovecot", h.key, 2, 10_000),
      ),
    ),
    "- index answers equal a full scan: not a bench figure; test/mail/searchIndex.test.ts",
  );

  const rss = target("embedded")?.rss?.peakTreeRss;
  const embedded = target("embedded");
  const afterSync = embedded ? firstSyncRss(embedded)?.after : undefined;
  section(
    "Memory",
    checkLine(
      {
        goal: "peak RSS with 100,000 messages selected, embedded, at most 200 MB",
        value: size === 100_000 ? rss : undefined,
        limit: size === 100_000 && rss !== undefined ? 200e6 : undefined,
        unit: fmtMB,
      },
      size,
    ),
    checkLine(
      {
        goal: afterSync
          ? "10,000 messages after a first sync, embedded, at most 100 MB (RSS when the first sync's bodies came back)"
          : "10,000 messages after a first sync, embedded, at most 100 MB (this run has no after-sync figure: the session's peak, stricter)",
        value: size === 10_000 ? (afterSync ?? rss) : undefined,
        limit: size === 10_000 && (afterSync ?? rss) !== undefined ? 100e6 : undefined,
        unit: fmtMB,
      },
      size,
    ),
  );

  const ran = (names: string[]) => names.map((n) => `${n} ${target(n) ? "ran" : "absent"}`).join(", ");
  const phases = ["append.seq", "append.pipe", "move"];
  const withPhases = run.targets.filter((t) => phases.every((k) => t.phases.some((p) => p.key === k)));
  section(
    "Bench",
    `- targets garage-rtt100 and garage-rtt100-cold: ${ran(["garage-rtt100", "garage-rtt100-cold"])}`,
    `- phases ${phases.join(", ")}: ${withPhases.length ? `run on ${withPhases.map((t) => t.name).join(", ")}` : "not measured in this run"}`,
  );

  const note =
    size === 10_000
      ? ""
      : ` (times are stated for 10,000 messages, memory for 100,000 and 10,000; this run has ${thousands(size)})`;
  return `Issue 11's targets${note}:\n${lines.join("\n")}`;
}
