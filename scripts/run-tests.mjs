#!/usr/bin/env node
// Runs test/**/*.test.ts with Node's own runner, several files at once, on TypeScript compiled once
// for the run into plain JavaScript twins (scripts/test-compile.mjs).
//
//   node scripts/run-tests.mjs [--fast] [--checks] [--durations] [--isolate] [--concurrency N] [WORD...]
//
// WORDs narrow the run to the files whose path contains one of them (`npm test -- storage crypto`).
// --fast (`npm run test:fast`) leaves out the files that only test a real peer and the 60 s load
// run (SOAK), and sets AGL_TEST_PEERS=off, so the peer-backed tests of the files it keeps skip
// (test/support/peers.ts), and AGL_TEST_FAST=1, so the long property tests make fewer random runs
// (test/support/propertyRuns.ts).
// --checks (`npm test`) also runs the type check, eslint and prettier --check beside the test
// files (scripts/test-checks.mjs), reports them after the tests, and fails the run when one fails.
// --durations ends with a table of each file's wall time and CPU seconds (scripts/test-timing.mjs),
// those of the processes it started (the binary, Garage...) apart, longest first, their sums, and
// the wall time and CPU seconds of the whole run.
// --isolate runs every file in a process of its own (see GROUP_SIZE).
//
// N processes run at once, started in the order given here (`node --test` would sort them by
// name): the peer-backed files (PEERS) first, longest first, then the longest others (LONG) up to
// GROUPS_AFTER, then the groups of small files that share a process (GROUP_SIZE), then the rest of
// LONG, then the other files. With --fast the peer-backed files kept (their peer tests skip) join
// the groups, but for the CLI's and ALONE's, which follow LONG's first ones.
// The longest files (the process storm: three aerogramme-local processes on three Garage nodes,
// ~1.5-2.5 min under load; three Garage nodes under 500 APPENDs) set the wall time when they start
// late; the short files fill the other slots meanwhile. Results are printed process by process in
// that order, so the first lines wait for the first file. A process that ends before its tests are
// done fails the run (scripts/test-groups.mjs).
// One reporter prints every result and one summary. Any file is safe to run beside any other: temp
// folders from mkdtemp, servers on free ports, Garage clusters of their own that check their ports
// are theirs, keychain entries with random names, tmux on sockets of their own.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { fileURLToPath } from "node:url";
import { compileForRun, twinOf } from "./test-compile.mjs";
import { reportChecks, startChecks } from "./test-checks.mjs";
import { countTests, writeGroupEntry } from "./test-groups.mjs";
import { memoryTempFolder } from "./test-tmp.mjs";

/**
 * The files that talk to a real peer, longest first, with the peers they need. `fast: true` marks a
 * file that also has tests without a peer: --fast runs it with its peer-backed tests skipped.
 */
const PEERS = {
  // The process storm first (~36 CPU s, 1.5-2.5 min of wall time under load); then the fetchers,
  // each a chain of 200 starts of the deliver binary, one after another (~25 CPU s each since
  // deliver hands the message to the server); onGarage (~12 CPU s since its scenario files share
  // three children and a Garage each) runs three children at once.
  "test/cli/uidStormProcesses.test.ts": { peers: ["garage", "mbsync"] },
  "test/clients/fetchmail.test.ts": { peers: ["dovecot", "fetchmail"] },
  "test/clients/getmail.test.ts": { peers: ["dovecot", "getmail6"] },
  "test/server/imap/onGarage.test.ts": { peers: ["garage"] },
  "test/server/imap/garageResilience.test.ts": { peers: ["garage"] },
  "test/storage/garageCluster.test.ts": { peers: ["garage"] },
  "test/server/imap/uidStorm.test.ts": { peers: ["garage"] },
  "test/storage/conformance.test.ts": { peers: ["garage"], fast: true },
  "test/cli/garage.test.ts": { peers: ["garage", "keychain"] },
  "test/cli/deliveryOnly.test.ts": { peers: ["garage"] },
  "test/cli/postfixLmtp.test.ts": { peers: ["garage", "postfix"] },
  "test/cli/resetRemote.test.ts": { peers: ["garage"] },
  "test/storage/garageErrors.test.ts": { peers: ["garage"], fast: true },
  "test/storage/garageKeepAlive.test.ts": { peers: ["garage"], fast: true },
  "test/clients/thunderbird.test.ts": { peers: ["thunderbird", "python3"] },
  "test/clients/mbsync.test.ts": { peers: ["mbsync"] },
  "test/clients/mbsyncClash.test.ts": { peers: ["mbsync"] },
  "test/clients/offlineimap.test.ts": { peers: ["offlineimap"] },
  "test/clients/neomutt.test.ts": { peers: ["neomutt", "tmux"] },
  "test/clients/aerc.test.ts": { peers: ["aerc", "tmux"] },
  "test/cli/wizard.test.ts": { peers: ["tmux"] },
  "test/cli/keychain.test.ts": { peers: ["keychain"], fast: true },
  "test/server/imap/garageAtRest.test.ts": { peers: ["garage"] },
  "test/server/imap/sharedListViewGarage.test.ts": { peers: ["garage"] },
  "test/storage/localCacheGarage.test.ts": { peers: ["garage"] },
  "test/mail/cacheFillGarage.test.ts": { peers: ["garage"] },
  "test/mail/rekeyCacheGarage.test.ts": { peers: ["garage"] },
  "test/cli/cacheFillStatus.test.ts": { peers: ["garage"] },
  "test/mail/garageCrash.test.ts": { peers: ["garage"] },
  "test/storage/garageDump.test.ts": { peers: ["garage"] },
  "test/server/imap/whatTheHostLearns.test.ts": { peers: ["garage"], fast: true },
  "test/mail/rekeyGarage.test.ts": { peers: ["garage"] },
  "test/mime/dovecotLive.test.ts": { peers: ["dovecot"] },
  "test/clients/imaplib.test.ts": { peers: ["python3"] },
  "test/cli/service.test.ts": { peers: ["systemd-analyze"], fast: true },
};

/**
 * The longest files that need no peer, longest first: their CPU seconds in `--durations --isolate`
 * (test:fast, 2 cores; a file's tests mostly run one after another, so its CPU seconds are about
 * the shortest its wall time can be). Started first, so that none of them starts last and alone.
 * Order of 2026-12-06 (test:fast at 8728af5, load ~8-13: importKill 7.6, rekeyServer 7.5, rekey
 * 6.8, bayouConvergence 6.7, searchIndex 5.6, uidReplayProperty 5.1, init 4.9, localUsers 4.7,
 * start and stop 3.4 each, then 3.0 and less).
 * rekey (~16 CPU s: 1,500 messages imported, rekeyed by three binaries) set the floor of the run
 * until its tests through a running server moved to rekeyServer, on a home of its own.
 */
const LONG = [
  "test/server/imap/loadWatchdog.test.ts",
  "test/cli/importKill.test.ts",
  "test/cli/rekeyServer.test.ts",
  "test/cli/rekey.test.ts",
  "test/sync/bayouConvergence.test.ts",
  "test/server/imap/searchIndex.test.ts",
  "test/mail/uidReplayProperty.test.ts",
  "test/cli/init.test.ts",
  "test/cli/localUsers.test.ts",
  "test/cli/start.test.ts",
  "test/cli/stop.test.ts",
  "test/cli/deliverAttacks.test.ts",
  "test/cli/messages.test.ts",
  "test/cli/passwordStrength.test.ts",
  "test/cli/deliver.test.ts",
  "test/cli/importExport.test.ts",
  "test/cli/reset.test.ts",
  "test/mail/crashSafety.test.ts",
  "test/server/imap/preLoginMemory.test.ts",
  "test/mail/noPlaintextAtRest.test.ts",
  "test/cli/binLauncher.test.ts",
  "test/cli/rollback.test.ts",
  "test/cli/lmtp.test.ts",
];

/**
 * LONG's files that start before the groups. The groups (GROUP_SIZE) hold the small files' waits
 * on timers and lulls, one file after another: started after all of LONG, they started from 45%
 * of the run on and the last of them ended it (the start and end times of `--durations`, test:fast
 * at a load of ~20, session 16). Only LONG's files longer than the longest group (~5 CPU s and up)
 * go first, and the load run, first of LONG, which --fast leaves out.
 */
const GROUPS_AFTER = 7;

/**
 * Files whose subject is a stretch of time: the 60 s load run (issue 18) keeps a core busy for as
 * long as it lasts, whatever else runs (its CPU seconds are what the others leave it: 4 to 40 in
 * test:fast), so a loop that must end in under a minute cannot hold it. `npm test` runs it, first
 * of LONG; --fast leaves it out.
 */
const SOAK = ["test/server/imap/loadWatchdog.test.ts"];

/**
 * Files that measure their process (memory, event-loop delay, timers) or are sensitive to timing:
 * each keeps a process of its own, never shared with other files (see GROUP_SIZE). preLogin's and
 * accountDirectory's login delays are held by the tests (test/support/heldDelays.ts), not slept:
 * accountDirectory (one 60 ms timer left, checked from below) shares a group; preLogin keeps its
 * idle-timeout test (a 700 ms socket timeout) and stays here.
 */
const ALONE = [
  "test/server/imap/preLoginMemory.test.ts",
  "test/server/imap/preLogin.test.ts",
  "test/server/imap/loadWatchdog.test.ts",
  "test/server/imap/parser/framing.test.ts",
  "test/mime/indexMessage.test.ts",
  // Its fake hosts' tests bound how long a timeout takes ("not later"); peer-backed otherwise, so
  // alone in `npm test` anyway, and kept so under --fast.
  "test/storage/garageErrors.test.ts",
];

/**
 * The other files (not peer-backed, not LONG, not ALONE, not the CLI tests that start the binary)
 * run GROUP_SIZE to a process, one after another, each inside a suite named after it, so that its
 * top-level hooks stay its own. A process of its own cost a file 0.4 CPU s before its first test
 * (node, and the loader thread of the time) and the loading of the modules it shares with its
 * neighbours; on 2 cores that was a fifth of test:fast. Twelve, not eight: 9 groups instead of 14,
 * ~27 CPU s instead of ~31 in test:fast. FAST_GROUP_SIZE, twenty-four (session 19): each group loads
 * most of src/ once; the ~150 files of the groups took ~41 CPU s in 6 groups of 30 against ~43 in
 * 13 of 12 (two pairs, load ~12), the longest group ~9 CPU s, still ending before the rekey files.
 * Under --fast only: the full run's peer-backed files hold the cores for minutes, and its one run
 * with 24 (session 19, 238 s) ended later than the runs with 12 (209-224 s), its groups late.
 * `--isolate` gives every file a process of its own; TEST_GROUP_SIZE=N (for measuring) puts N
 * files in a group instead.
 */
const GROUP_SIZE = 12;
const FAST_GROUP_SIZE = 24;

/**
 * Files run at once. A file keeps about a third of a core busy on average (it waits on servers,
 * peers and timers), so six keep two cores busy. Measured on two cores: 4 was slower, 8 no faster.
 */
const DEFAULT_CONCURRENCY = 6;

// Node's runner gives each file's process the flags of this one: source maps, so that stack traces
// name the .ts lines of the compiled twins the files run as (test-compile.mjs), and the timing hook
// (inert unless --durations sets AGL_TEST_TIMING_DIR).
const timingHook = fileURLToPath(new URL("test-timing.mjs", import.meta.url));
const flags = [
  ...(process.execArgv.includes("--enable-source-maps") ? [] : ["--enable-source-maps"]),
  ...(process.execArgv.includes(timingHook) ? [] : ["--import", timingHook]),
];
if (flags.length > 0) {
  const self = fileURLToPath(import.meta.url);
  const again = spawnSync(process.execPath, [...process.execArgv, ...flags, self, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(again.status ?? 1);
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "fixtures") out.push(...findTests(path));
    } else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

function fail(message) {
  console.error(`run-tests: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
let fast = false;
let durations = false;
let isolate = false;
let checks = false;
let concurrency = Number(process.env.TEST_CONCURRENCY) || DEFAULT_CONCURRENCY;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--fast") fast = true;
  else if (args[i] === "--durations") durations = true;
  else if (args[i] === "--isolate") isolate = true;
  else if (args[i] === "--checks") checks = true;
  else if (args[i] === "--concurrency") concurrency = Number(args[++i]);
  else filters.push(args[i]);
}
if (!Number.isInteger(concurrency) || concurrency < 1) fail("--concurrency takes a whole number of files");

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
const all = findTests("test").sort();
// The table must follow the tree: a renamed file would otherwise lose its place, and a new
// peer-backed file that is not listed would run in --fast.
for (const file of Object.keys(PEERS))
  if (!existsSync(file)) fail(`PEERS lists ${file}, which does not exist`);
for (const file of [...LONG, ...ALONE, ...SOAK])
  if (!existsSync(file)) fail(`LONG, ALONE or SOAK lists ${file}, which does not exist`);
for (const file of all)
  if (!PEERS[file] && /\bskipUnless\(|support\/garage\.ts/.test(readFileSync(file, "utf8")))
    fail(`${file} uses a real peer: list it in PEERS in scripts/run-tests.mjs`);

const wanted = (f) => filters.length === 0 || filters.some((w) => f.includes(w));
const plain = all.filter((f) => !PEERS[f] && !(fast && SOAK.includes(f)));
const keptPeerBacked = Object.keys(PEERS).filter((f) => PEERS[f].fast);
const rank = (f) => (LONG.includes(f) ? LONG.indexOf(f) : LONG.length);
// Array.prototype.sort is stable: the files LONG does not list keep their order.
const longFirst = (list) => [...list].sort((a, b) => rank(a) - rank(b));
const files = (
  fast ? longFirst([...keptPeerBacked, ...plain]) : [...Object.keys(PEERS), ...longFirst(plain)]
).filter(wanted);
if (files.length === 0) fail(`no test files match ${filters.join(" ")}`);

if (fast) {
  process.env.AGL_TEST_PEERS = "off";
  // The long property tests make fewer random runs (test/support/propertyRuns.ts): the same tests
  // and assertions, fewer cases drawn; `npm test` makes the full count.
  process.env.AGL_TEST_FAST = "1";
} else delete process.env.AGL_TEST_FAST;
// Every process of the run (os.tmpdir() reads TMPDIR) makes its temp folders in memory where the
// machine allows (scripts/test-tmp.mjs); the folder goes with everything left in it.
const memoryTmp = memoryTempFolder();
if (memoryTmp) {
  process.env.TMPDIR = memoryTmp;
  process.on("exit", () => rmSync(memoryTmp, { recursive: true, force: true }));
}
// Shared by the files of this run: the CLI tests keep there the homes init set up once
// (test/cli/cliHarness.ts, copyHome).
const runDir = mkdtempSync(join(tmpdir(), "agl-test-run-"));
process.env.AGL_TEST_RUN_DIR = runDir;
process.on("exit", () => rmSync(runDir, { recursive: true, force: true }));
const timingDir = durations ? mkdtempSync(join(tmpdir(), "agl-test-timing-")) : undefined;
if (timingDir) process.env.AGL_TEST_TIMING_DIR = timingDir;
const started = Date.now();
// Started before the compilation, so that eslint, the longest chain, starts first.
const checked = checks ? startChecks(process.cwd()) : undefined;
// Every file runs as its compiled twin, with no loader; a test that starts node on a `.ts` file
// finds the twins here too (test/support/tsChild.ts).
const jsDir = join(runDir, "js");
process.env.AGL_TEST_JS_DIR = jsDir;
await compileForRun(process.cwd(), jsDir);
const twin = (f) => twinOf(jsDir, process.cwd(), resolve(f));
const { entries, groups } = isolate ? { entries: files, groups: new Map() } : groupFiles(files);
// forceExit: a file's process ends once its tests have run, even if something it started still
// holds the event loop (a server a failed `before` never closed); without it one such failure
// left a group's process, and the whole run, waiting forever.
const runEntries = entries.map((f) => (groups.has(f) ? f : twin(f)));
const stream = run({ files: runEntries, concurrency, forceExit: true });
// A process that ends before its tests are done, with status 0, fails nothing in node:test: the
// count does (scripts/test-groups.mjs).
const counted = countTests(stream);
// As `node --test` does: a failure (a failing or cancelled test, a file that does not load) but not
// a todo test makes the exit status 1.
stream.on("test:fail", (event) => {
  if (!event.todo) process.exitCode = 1;
});
const report = stream.compose(new spec());
report.pipe(process.stdout, { end: false });
report.on("end", () => void afterTests());

async function afterTests() {
  const name = (file) =>
    groups.has(file)
      ? basename(file, ".mjs")
      : relative(file.startsWith(jsDir) ? jsDir : process.cwd(), file);
  const short = counted.shortfalls(groups, name);
  if (short.length > 0) {
    process.exitCode = 1;
    process.stdout.write(`\nrun-tests: test processes that ended early:\n${short.join("\n")}\n`);
  }
  if (checked && !reportChecks(await checked, (text) => process.stdout.write(text))) process.exitCode = 1;
  if (timingDir) printDurations(timingDir);
}

/**
 * The entries to run: the files that run alone, in `list`'s order, and the entry of each group (a
 * module in the run's folder that imports the group's files one after another, each in a suite
 * named after it). Files are dealt to the groups round-robin, so that the files of one folder, often
 * alike in cost, spread over them.
 */
function groupFiles(list) {
  // Under --fast a peer-backed file kept runs only its tests without a peer: it may share too.
  const shared = list.filter(
    (f) =>
      (!PEERS[f] || (fast && PEERS[f].fast)) &&
      !LONG.includes(f) &&
      !ALONE.includes(f) &&
      !f.startsWith("test/cli/"),
  );
  const size = Number(process.env.TEST_GROUP_SIZE) || (fast ? FAST_GROUP_SIZE : GROUP_SIZE);
  const count = Math.ceil(shared.length / size);
  if (count === 0) return { entries: list, groups: new Map() };
  const members = Array.from({ length: count }, () => []);
  shared.forEach((f, i) => members[i % count].push(f));
  const groups = new Map();
  const entryOf = new Map();
  members.forEach((group, i) => {
    const entry = join(runDir, `group-${i + 1}.mjs`);
    writeGroupEntry(
      entry,
      group.map((f) => ({ name: f, path: twin(f) })),
    );
    groups.set(entry, group);
    for (const f of group) entryOf.set(f, entry);
  });
  // The groups, longer than most files alone, start after the peer-backed files and the first
  // GROUPS_AFTER of LONG, before the rest of LONG and the other files that run alone.
  const alone = list.filter((f) => !entryOf.has(f));
  const first = (f) => Boolean(PEERS[f]) || LONG.slice(0, GROUPS_AFTER).includes(f);
  const leads = (f) => LONG.includes(f) && !first(f);
  const entries = [
    ...alone.filter(first),
    ...groups.keys(),
    ...alone.filter(leads),
    ...alone.filter((f) => !first(f) && !leads(f)),
  ];
  return { entries, groups };
}

/** CPU seconds of this process and the children it waited for (Linux /proc), or null. */
function runCpu() {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const ticks = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .slice(11, 15);
    return ticks.reduce((sum, t) => sum + Number(t), 0) / 100;
  } catch {
    return null;
  }
}

/** The table of --durations: one line a file, longest wall time first, then the sums. */
function printDurations(dir) {
  const rows = readdirSync(dir).map((name) => JSON.parse(readFileSync(join(dir, name), "utf8")));
  rmSync(dir, { recursive: true, force: true });
  rows.sort((a, b) => b.wall - a.wall);
  const secs = (n) => (n === null ? "   -" : n.toFixed(1).padStart(6));
  const lines = [
    "",
    "durations (wall s; CPU s of the file's process and its children; of the children alone;",
    "s into the run when the process started and ended):",
  ];
  const name = (file) => {
    const group = groups.get(file);
    if (!group) return relative(jsDir, file).replace(/\.js$/, ".ts");
    return `${basename(file, ".mjs")}: ${group.map((f) => basename(f, ".test.ts")).join(", ")}`;
  };
  const at = (ms) => secs((ms - started) / 1000);
  for (const r of rows)
    lines.push(
      `${secs(r.wall)} ${secs(r.cpu)} ${secs(r.children)} ${at(r.started)} ${at(r.started + r.wall * 1000)}  ${name(r.file)}`,
    );
  const sum = (key) => rows.reduce((total, r) => total + (r[key] ?? 0), 0);
  lines.push(
    `${secs(sum("wall"))} ${secs(sum("cpu"))} ${secs(sum("children"))}${" ".repeat(14)}  sum over ${rows.length} files`,
  );
  lines.push(
    `${secs((Date.now() - started) / 1000)} ${secs(runCpu())}${" ".repeat(21)}  the whole run (the runner too)`,
  );
  // Runs compared with and without the folder in memory must say which they were.
  lines.push(`temp folders: ${memoryTmp ? `${memoryTmp} (memory)` : `${tmpdir()} (disk)`}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
