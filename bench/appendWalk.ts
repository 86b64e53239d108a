/**
 * Memory of a server while a client files messages one at a time into a new mailbox with a large
 * mailbox selected (not a test: run it by hand and read the numbers).
 *
 *   node --import tsx bench/appendWalk.ts HOME [COUNT]
 *
 * HOME is a home as bench/memoryWalk.ts takes it (`init --user bench` + `import` of the bench
 * corpus). Starts `bin/aerogramme-local.js start` on it (bench/aerogramme.ts startServer), LOGIN, SELECT INBOX, CREATE a mailbox of
 * its own, then APPENDs the 10,000-message corpus's first COUNT (500) messages one after another,
 * as the bench's "APPEND ... one at a time" phase does, and prints VmRSS and VmHWM every 100 and
 * a second after the last. Figures: bench/notes.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./aerogramme.ts";
import { ensureCorpus, readCorpusMessage } from "./corpus.ts";
import { ImapWire } from "./imapWire.ts";

const home = process.argv[2];
if (!home) throw new Error("usage: node --import tsx bench/appendWalk.ts HOME [COUNT]");
const count = Number(process.argv[3] ?? 500);
const corpus = await ensureCorpus(10_000);
// The server's log goes to HOME/appendWalk.log.
const server = await startServer(home, join(home, "appendWalk.log"));

function memory(): string {
  const status = readFileSync(`/proc/${server.child.pid}/status`, "utf8");
  const mb = (name: string) =>
    (Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024).toFixed(1);
  return `RSS ${mb("VmRSS")} MB, VmHWM ${mb("VmHWM")}`;
}

try {
  const wire = await ImapWire.open(server.host, server.port);
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
  await server.stop();
}
