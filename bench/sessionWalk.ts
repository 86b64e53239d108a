/**
 * The bench's session against a home made beforehand (not a test: run it by hand and read the
 * numbers). A 100,000-message bench run imports its corpus afresh (13-18 minutes on the shared
 * machine); this runs only the session, on a copy of a home imported once, so that a change to
 * the server can be measured phase by phase in minutes.
 *
 *   node --import tsx bench/sessionWalk.ts HOME SIZE [PHASE,PHASE...]
 *
 * HOME is a home as bench/memoryWalk.ts takes it (`init --user bench` + `import` of the
 * SIZE-message bench corpus). The session writes (APPENDs, STORE, MOVE), so it runs on a copy made
 * beside HOME (`HOME.walk`, removed at the end) with the copy's settings pointing at the copy's own
 * data folder. The server starts as bench/aerogramme.ts starts it (BENCH_SERVER_NODE_ARGS
 * applies); after every phase it prints the server's RSS, the sampled peak, its CPU time so far
 * and its main thread's (in ms),
 * at the end VmHWM. MARKS=FILE writes one `phaseN start end` line per phase (µs on the monotonic
 * clock, a phase from the previous one's end) for bench/profileSteps.mjs to cut a profile the
 * server wrote with BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"; the lines name the
 * phases in order, as printed.
 * Figures: bench/notes.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startServer } from "./aerogramme.ts";
import { ensureCorpus } from "./corpus.ts";
import { RssSampler } from "./rssSampler.ts";
import { runSession } from "./session.ts";

const [source, sizeText, phases] = process.argv.slice(2);
if (!source || !sizeText) throw new Error("usage: node --import tsx bench/sessionWalk.ts HOME SIZE [PHASES]");
const home = `${resolve(source)}.walk`;
rmSync(home, { recursive: true, force: true });
// The embedded store writes a blob to a temp file and renames it into place, never changing one in
// place, so the copy links the blobs (3.9 GB of a 100,000-message home, whose copy took ~4 minutes
// on the shared machine) and copies the rest (the row log, the caches: written in place).
const original = realpathSync(source);
mkdirSync(home, { mode: 0o700 });
for (const name of readdirSync(original)) {
  if (name !== "data") {
    execFileSync("cp", ["-a", join(original, name), home]);
    continue;
  }
  mkdirSync(join(home, "data"), { mode: 0o700 });
  for (const inner of readdirSync(join(original, "data")))
    execFileSync("cp", [inner === "blobs" ? "-al" : "-a", join(original, "data", inner), join(home, "data")]);
}
// `init` wrote the data folder's absolute path: the copy must not write into the original's.
const settingsFile = join(home, "settings.json");
const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as { dataDir?: string };
if (settings.dataDir !== join(original, "data")) throw new Error(`unexpected dataDir ${settings.dataDir}`);
settings.dataDir = join(home, "data");
writeFileSync(settingsFile, JSON.stringify(settings, null, "\t"));
const corpus = await ensureCorpus(Number(sizeText));
const only = phases ? new Set(phases.split(",").filter(Boolean)) : undefined;
const t0 = performance.now();
const server = await startServer(home, join(home, "server.log"));
const sampler = new RssSampler(server.child.pid!);
console.log(`server pid ${server.child.pid} on port ${server.port}`);
/** The server's user + system CPU seconds (/proc, Linux): steadier than wall times under load. */
const serverCpu = () => {
  const stat = readFileSync(`/proc/${server.child.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) / 100).toFixed(2); // USER_HZ is 100
};
const micros = () => Number(process.hrtime.bigint() / 1000n);
const marks: string[] = [];
let markFrom = micros();
/** CPU ms of the server's main thread so far (schedstat, in ns: finer than /proc/PID/stat's ticks). */
const mainCpu = () =>
  (
    Number(
      readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/schedstat`, "utf8").split(" ")[0],
    ) / 1e6
  ).toFixed(1);
const mb = (b: number | undefined) => (b === undefined ? "?" : `${(b / 1e6).toFixed(1)} MB`);
try {
  await runSession(
    { host: server.host, port: server.port, user: "bench", password: "bench-password-Aer0" },
    corpus,
    {
      // Seconds since the server's start: the times memoryProbe.mjs's lines carry.
      log: (line) => {
        const now = micros();
        if (line.startsWith("  ")) marks.push(`phase${marks.length + 1} ${markFrom} ${now}`);
        markFrom = now;
        console.log(
          `${((performance.now() - t0) / 1000).toFixed(1)} s ${line}; server CPU ${serverCpu()} s so far, main thread ${mainCpu()} ms`,
        );
      },
      rssNow: () => sampler.now(),
      ...(only ? { only } : {}),
    },
  );
} finally {
  if (process.env.MARKS) writeFileSync(process.env.MARKS, marks.join("\n") + "\n");
  const rss = sampler.stop();
  console.log(`peak RSS ${mb(rss.peakTreeRss)}, VmHWM ${mb(rss.rootHwm)}`);
  await server.stop();
  rmSync(home, { recursive: true, force: true });
}
