/**
 * The first header search of a session against the ones after it (not a test: run it by hand and
 * read the numbers). The bench's SUBJECT phase is the session's first search and comes straight
 * after the STORE and its resync, with no pause in between; FROM, TO and HEADER come after it.
 *
 *   node --import tsx bench/firstSearch.ts HOME SIZE [RUNS]
 *
 * HOME is a home as bench/memoryWalk.ts takes it (`init --user bench` + `import` of the SIZE-message
 * bench corpus). Each run starts `aerogramme-local start` on HOME afresh (as bench/aerogramme.ts
 * starts it: BENCH_SERVER_NODE_ARGS applies), then LOGIN, SELECT INBOX, UID FETCH 1:* (FLAGS),
 * WAIT_MS of pause (default 0, as the bench), then the bench's SUBJECT, FROM, TO and HEADER
 * searches and SUBJECT again, one after the other. Prints per search the wall time and the CPU
 * time of the server's main thread (/proc/PID/task/PID/schedstat, in ns: under load the wall time
 * mostly says how long the process waited for a core), and checks the hits against the corpus.
 * MARKS=FILE writes `runR.N start end` per search (µs, monotonic) for bench/profileSteps.mjs. Searches only read: HOME is used in place. Figures: bench/notes.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./aerogramme.ts";
import { ensureCorpus } from "./corpus.ts";
import { headerHits } from "./headerHits.ts";
import { ImapWire } from "./imapWire.ts";

const [home, sizeArg, runsArg] = process.argv.slice(2);
if (!home || !sizeArg) throw new Error("usage: node --import tsx bench/firstSearch.ts HOME SIZE [RUNS]");
const runs = Number(runsArg ?? 3);
const waitMs = Number(process.env.WAIT_MS ?? 0);
const corpus = await ensureCorpus(Number(sizeArg));
const queries = [
  { criterion: `SUBJECT ${corpus.subjectMarker}`, hits: corpus.subjectHits },
  ...(await headerHits(corpus)).map(({ search, hits }) => ({ criterion: search.criterion, hits })),
  { criterion: `SUBJECT ${corpus.subjectMarker}`, hits: corpus.subjectHits },
];

/** CPU time of the main thread so far, in ms (Linux: the first field of schedstat, in ns). */
function cpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
}

const micros = () => Number(process.hrtime.bigint() / 1000n);
const marks: string[] = [];
for (let run = 0; run < runs; run++) {
  const server = await startServer(home, join(home, "firstSearch.log"));
  const pid = server.child.pid!;
  try {
    const wire = await ImapWire.open(server.host, server.port);
    await wire.command(`LOGIN bench "bench-password-Aer0"`);
    await wire.command("SELECT INBOX");
    await wire.command("UID FETCH 1:* (FLAGS)");
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    const parts: string[] = [];
    for (const q of queries) {
      const c0 = cpuMs(pid);
      const u0 = micros();
      const t0 = performance.now();
      const t = await wire.command(`UID SEARCH ${q.criterion}`);
      const ms = performance.now() - t0;
      marks.push(`run${run + 1}.${parts.length + 1} ${u0} ${micros()}`);
      const line = t.untagged.find((r) => r.text.startsWith("* SEARCH"))?.text ?? "* SEARCH";
      const hits = line.slice("* SEARCH".length).trim().split(/\s+/).filter(Boolean).length;
      if (hits !== q.hits) throw new Error(`${q.criterion}: ${hits} hits, the corpus says ${q.hits}`);
      parts.push(`${q.criterion.split(" ")[0]} ${ms.toFixed(1)} ms (CPU ${(cpuMs(pid) - c0).toFixed(1)})`);
    }
    console.log(`run ${run + 1}: ${parts.join(", ")}`);
    await wire.close();
  } finally {
    await server.stop();
  }
}
if (process.env.MARKS) writeFileSync(process.env.MARKS, marks.join("\n") + "\n");
