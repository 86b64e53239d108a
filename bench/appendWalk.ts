/**
 * Memory of a server while a client files messages one at a time into a new mailbox with a large
 * mailbox selected (not a test: run it by hand and read the numbers).
 *
 *   node --import tsx bench/appendWalk.ts HOME [COUNT]
 *
 * HOME is a home as bench/memoryWalk.ts takes it (`init --user bench` + `import` of the bench
 * corpus). Starts `bin/aerogramme-local.js start` on it, LOGIN, SELECT INBOX, CREATE a mailbox of
 * its own, then APPENDs the 10,000-message corpus's first COUNT (500) messages one after another,
 * as the bench's "APPEND ... one at a time" phase does, and prints VmRSS and VmHWM every 100 and
 * a second after the last. Figures: bench/notes.md.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { benchDir, ensureCorpus, readCorpusMessage } from "./corpus.ts";
import { freePort } from "./freePort.ts";
import { ImapWire } from "./imapWire.ts";

const home = process.argv[2];
if (!home) throw new Error("usage: node --import tsx bench/appendWalk.ts HOME [COUNT]");
const count = Number(process.argv[3] ?? 500);
const corpus = await ensureCorpus(10_000);
const port = await freePort();
const child = spawn(
  join(benchDir, "..", "bin", "aerogramme-local.js"),
  ["start", "--imap-port", String(port)],
  {
    env: { ...process.env, AEROGRAMME_LOCAL_HOME: home },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const killAtExit = () => child.kill("SIGKILL");
process.once("exit", killAtExit);
await new Promise<void>((ok, fail) => {
  const timer = setTimeout(() => fail(new Error('no "IMAP listening on" line within 60 s')), 60_000);
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("IMAP listening")) return;
    clearTimeout(timer);
    ok();
  });
});

function memory(): string {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const mb = (name: string) =>
    (Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024).toFixed(1);
  return `RSS ${mb("VmRSS")} MB, VmHWM ${mb("VmHWM")}`;
}

try {
  const wire = await ImapWire.open("127.0.0.1", port);
  await wire.command('LOGIN bench "bench-password-Aer0"');
  await wire.command("SELECT INBOX");
  console.log(`after SELECT: ${memory()}`);
  const mailbox = `AppendWalk-${Date.now()}`;
  await wire.command(`CREATE "${mailbox}"`);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const literal = await readCorpusMessage(corpus, i);
    await wire.command(`APPEND "${mailbox}" (\\Seen)`, { literal });
    if ((i + 1) % 100 === 0) console.log(`after ${i + 1} APPENDs: ${memory()}`);
  }
  console.log(`${count} APPENDs in ${(performance.now() - t0).toFixed(0)} ms`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  console.log(`a second later: ${memory()}`);
  await wire.close();
} finally {
  child.kill("SIGTERM");
  process.off("exit", killAtExit);
}
