#!/usr/bin/env node
// Runs test/**/*.test.ts with Node's own runner through tsx, several files at once.
//
//   node scripts/run-tests.mjs [--fast] [--concurrency N] [WORD...]
//
// WORDs narrow the run to the files whose path contains one of them (`npm test -- storage crypto`).
// --fast (`npm run test:fast`) leaves out the files that only test a real peer and sets
// AGL_TEST_PEERS=off, so the peer-backed tests of the files it keeps skip (test/support/peers.ts).
//
// Every file runs in a process of its own, N at a time, started in the order given here (`node
// --test` would sort them by name): the peer-backed files (PEERS) first, longest first, then the
// others, the CLI ones (long too) leading. The longest file, three Garage nodes under 500 APPENDs,
// sets the wall time when it starts late; the short files fill the other slots meanwhile. Results
// are printed file by file in that order, so the first lines wait for the first file.
// One reporter prints every result and one summary. Any file is safe to run beside any other: temp
// folders from mkdtemp, servers on free ports, Garage clusters of their own that check their ports
// are theirs, keychain entries with random names, tmux on sockets of their own.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { fileURLToPath } from "node:url";

/**
 * The files that talk to a real peer, longest first, with the peers they need. `fast: true` marks a
 * file that also has tests without a peer: --fast runs it with its peer-backed tests skipped.
 */
const PEERS = {
  "test/server/imap/garageResilience.test.ts": { peers: ["garage"] },
  "test/storage/garageCluster.test.ts": { peers: ["garage"] },
  "test/server/imap/onGarage.test.ts": { peers: ["garage"] },
  "test/storage/conformance.test.ts": { peers: ["garage"], fast: true },
  "test/cli/garage.test.ts": { peers: ["garage", "keychain"] },
  "test/storage/garageErrors.test.ts": { peers: ["garage"], fast: true },
  "test/clients/mbsync.test.ts": { peers: ["mbsync"] },
  "test/cli/wizard.test.ts": { peers: ["tmux"] },
  "test/cli/keychain.test.ts": { peers: ["keychain"], fast: true },
  "test/server/imap/garageAtRest.test.ts": { peers: ["garage"] },
  "test/storage/localCacheGarage.test.ts": { peers: ["garage"] },
  "test/mail/garageCrash.test.ts": { peers: ["garage"] },
  "test/storage/garageDump.test.ts": { peers: ["garage"] },
  "test/server/imap/whatTheHostLearns.test.ts": { peers: ["garage"], fast: true },
  "test/mime/dovecotLive.test.ts": { peers: ["dovecot"] },
  "test/clients/imaplib.test.ts": { peers: ["python3"] },
};

/**
 * Files run at once. A file keeps about a third of a core busy on average (it waits on servers,
 * peers and timers), so six keep two cores busy. Measured on two cores: 4 was slower, 8 no faster.
 */
const DEFAULT_CONCURRENCY = 6;

// Node's runner gives each file's process the flags of this one: tsx must be among them.
if (!process.execArgv.includes("tsx")) {
  const self = fileURLToPath(import.meta.url);
  const again = spawnSync(process.execPath, ["--import", "tsx", self, ...process.argv.slice(2)], {
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
let concurrency = Number(process.env.TEST_CONCURRENCY) || DEFAULT_CONCURRENCY;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--fast") fast = true;
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
for (const file of all)
  if (!PEERS[file] && /\bskipUnless\(|support\/garage\.ts/.test(readFileSync(file, "utf8")))
    fail(`${file} uses a real peer: list it in PEERS in scripts/run-tests.mjs`);

const wanted = (f) => filters.length === 0 || filters.some((w) => f.includes(w));
const plain = all.filter((f) => !PEERS[f]);
const peerBacked = Object.keys(PEERS).filter((f) => !fast || PEERS[f].fast);
const files = [...peerBacked, ...plain].filter(wanted);
if (files.length === 0) fail(`no test files match ${filters.join(" ")}`);

if (fast) process.env.AGL_TEST_PEERS = "off";
const stream = run({ files: files.map((f) => resolve(f)), concurrency });
// As `node --test` does: a failure (a failing or cancelled test, a file that does not load) but not
// a todo test makes the exit status 1.
stream.on("test:fail", (event) => {
  if (!event.todo) process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
