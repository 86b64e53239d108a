/**
 * Header searches against Dovecot, side by side (not a test: run it by hand and read the numbers).
 *
 *   node --import tsx bench/headerSearches.ts HOME SIZE [REPEAT]
 *
 * The bench times one SUBJECT search; issue 11's target also names FROM, TO and HEADER. HOME is an
 * aerogramme-local home set up as bench/memoryWalk.ts says (`init --user bench`, `import` of the
 * bench corpus of SIZE messages). Starts Dovecot on that corpus (bench/dovecot.ts) and
 * `aerogramme-local start` on HOME, opens one session on each (LOGIN, SELECT INBOX, UID FETCH 1:*
 * (FLAGS)), then asks each query REPEAT times (default 10) of both, one after the other, so that
 * both see the same load. Prints per query: the first time and the median on each side, the
 * aerogramme server's CPU time per search (/proc/PID/stat, less moved by load than wall time), the
 * hits, and the ratio of the medians. QUERIES="A|B" replaces the default list. Figures:
 * bench/notes.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./aerogramme.ts";
import { ensureCorpus } from "./corpus.ts";
import { startDovecot } from "./dovecot.ts";
import { ImapWire } from "./imapWire.ts";

const [home, sizeArg, repeatArg] = process.argv.slice(2);
if (!home || !sizeArg) throw new Error("usage: node --import tsx bench/headerSearches.ts HOME SIZE [REPEAT]");
const repeat = Number(repeatArg ?? 10);
const queries = (
  process.env.QUERIES ??
  "SUBJECT quarterly|FROM quarterly|TO example|CC example|HEADER Message-ID abc|HEADER X-Mailer thunder"
).split("|");
const PASSWORD = "bench-password-Aer0";

const corpus = await ensureCorpus(Number(sizeArg));
const dovecot = await startDovecot(corpus);
// The server's log goes to HOME/headerSearches.log.
const server = await startServer(home, join(home, "headerSearches.log"));

function cpuMs(): number {
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), in clock ticks of 10 ms.
  const fields = readFileSync(`/proc/${server.child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function session(host: string, port: number, user: string, password: string): Promise<ImapWire> {
  const wire = await ImapWire.open(host, port);
  await wire.command(`LOGIN ${user} "${password}"`);
  await wire.command("SELECT INBOX");
  await wire.command("UID FETCH 1:* (FLAGS)");
  return wire;
}

async function search(wire: ImapWire, query: string): Promise<{ ms: number; hits: number }> {
  const t0 = performance.now();
  const t = await wire.command(`UID SEARCH ${query}`);
  const line = t.untagged.find((r) => r.text.startsWith("* SEARCH"))?.text ?? "* SEARCH";
  return {
    ms: performance.now() - t0,
    hits: line.slice("* SEARCH".length).trim().split(/\s+/).filter(Boolean).length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

try {
  const d = await session(dovecot.host, dovecot.port, dovecot.user, dovecot.password);
  const a = await session(server.host, server.port, "bench", PASSWORD);
  for (const query of queries) {
    const dt: number[] = [];
    const at: number[] = [];
    let hits = "";
    const c0 = cpuMs();
    for (let i = 0; i < repeat; i++) {
      const x = await search(d, query);
      const y = await search(a, query);
      dt.push(x.ms);
      at.push(y.ms);
      hits = x.hits === y.hits ? `${y.hits} hits` : `hits differ: dovecot ${x.hits}, aerogramme ${y.hits}`;
    }
    const cpu = (cpuMs() - c0) / repeat;
    console.log(
      `${query.padEnd(26)} dovecot first ${dt[0]!.toFixed(1)}, median ${median(dt).toFixed(1)} ms | ` +
        `aerogramme first ${at[0]!.toFixed(1)}, median ${median(at).toFixed(1)} ms, CPU ${cpu.toFixed(1)} ms ` +
        `| ${(median(at) / median(dt)).toFixed(2)}x; ${hits}`,
    );
  }
  await d.close();
  await a.close();
} finally {
  await server.stop();
  await dovecot.stop();
}
