/**
 * Memory and CPU of a server, step by step (not a test: run it by hand and read the numbers).
 *
 *   node --import tsx bench/memoryWalk.ts HOME [SEARCH|SEARCH...]
 *
 * HOME is an aerogramme-local home set up with `init --user bench` and the bench's password, and
 * filled with `import` (as bench/aerogramme.ts does). Starts `bin/aerogramme-local.js start` on it
 * as a user's shell would (the launcher's memory settings apply; NODE_FLAGS="..." runs
 * `node NODE_FLAGS bin/aerogramme-local.js` instead, to compare settings), walks the bench's first
 * sync (LOGIN, SELECT, flags, headers in chunks of 200, the 200 newest bodies), then the searches
 * (default `SUBJECT quarterly`), and prints after each step its wall time, the server's CPU time
 * (/proc/PID/stat, which a loaded machine moves less than wall time) and VmRSS, VmHWM, RssAnon and
 * RssFile from /proc/PID/status. IDLE_SECONDS=N then watches the idle server for N seconds
 * (every 10 s). HEAP_SNAPSHOT=1 also has the server write a heap snapshot at the
 * end (in the walk's working folder; read it with bench/heapSummary.ts). SERVER_STDOUT=FILE
 * writes the server's standard output to FILE, marked with each step's name (NODE_FLAGS="...
 * --trace-gc" then shows the heap between steps); PAUSE_AFTER_SELECT below. Figures: bench/notes.md.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchDir } from "./corpus.ts";
import { ImapWire } from "./imapWire.ts";
import { launchServer } from "./launchServer.ts";

const home = process.argv[2];
if (!home) throw new Error("usage: node --import tsx bench/memoryWalk.ts HOME [SEARCH|SEARCH...]");
const searches = (process.argv[3] ?? "SUBJECT quarterly").split("|").filter(Boolean);
const launcher = join(benchDir, "..", "bin", "aerogramme-local.js");
const heapSnapshot = process.env.HEAP_SNAPSHOT === "1";
/** IDLE_SECONDS=N: memory every 10 s of N idle seconds after the walk (V8's memory reducer). */
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 0);
const nodeFlags = (process.env.NODE_FLAGS ?? "").split(" ").filter(Boolean);
/**
 * PAUSE_AFTER_SELECT=MS: an idle step after SELECT, so that the search index's first pass (3 s
 * after login, then 0.5 s without client reads) runs there, not in whichever step it lands.
 */
const pauseAfterSelect = Number(process.env.PAUSE_AFTER_SELECT ?? 0);
const serverStdout = process.env.SERVER_STDOUT;
if (serverStdout) writeFileSync(serverStdout, "");
const toServerStdout = (line: string) => {
  if (serverStdout) appendFileSync(serverStdout, `${line}\n`);
};
// The launcher passes NODE_OPTIONS on to the server: a signal then writes a snapshot.
const nodeOptions = heapSnapshot ? "--heapsnapshot-signal=SIGUSR2" : process.env.NODE_OPTIONS;
const { child, port, stop } = await launchServer({
  launcher,
  home,
  nodeFlags,
  env: nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions },
  stderr: "inherit",
  onLine: toServerStdout,
});

const mb = (kb: string) => (Number(kb) / 1024).toFixed(1);
function memory(): string {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const field = (name: string) => mb(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? "NaN");
  return `RSS ${field("VmRSS")} MB, VmHWM ${field("VmHWM")}, anon ${field("RssAnon")}, file ${field("RssFile")}`;
}
function cpuMs(): number {
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), in clock ticks of 10 ms.
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
async function step(name: string, run: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  const c0 = cpuMs();
  toServerStdout(`--- ${name}`);
  await run();
  const ms = (performance.now() - t0).toFixed(0);
  console.log(
    `${name.padEnd(28)} ${ms.padStart(6)} ms, CPU ${String(cpuMs() - c0).padStart(5)} ms; ${memory()}`,
  );
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TB_HEADERS =
  "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";
try {
  await pause(1000);
  console.log(`${"at rest".padEnd(28)} ${"".padStart(25)} ${memory()}`);
  const wire = await ImapWire.open("127.0.0.1", port);
  await step("LOGIN", () => wire.command('LOGIN bench "bench-password-Aer0"'));
  await step("SELECT INBOX", () => wire.command("SELECT INBOX"));
  if (pauseAfterSelect > 0) await step(`idle ${pauseAfterSelect} ms`, () => pause(pauseAfterSelect));
  let uids: number[] = [];
  await step("UID FETCH 1:* (FLAGS)", async () => {
    const t = await wire.command("UID FETCH 1:* (FLAGS)");
    uids = t.untagged.flatMap((r) => {
      const m = /UID (\d+)/.exec(r.text);
      return m ? [Number(m[1])] : [];
    });
  });
  await step("headers, chunks of 200", async () => {
    for (let i = 0; i < uids.length; i += 200) {
      const range = `${uids[i]}:${uids[Math.min(i + 199, uids.length - 1)]}`;
      await wire.command(
        `UID FETCH ${range} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${TB_HEADERS})])`,
      );
    }
  });
  await step("200 newest bodies", () =>
    wire.command(`UID FETCH ${uids.at(-200)}:${uids.at(-1)} (UID RFC822.SIZE BODY.PEEK[])`),
  );
  for (const search of searches)
    await step(`UID SEARCH ${search}`.slice(0, 28), () => wire.command(`UID SEARCH ${search}`));
  await pause(1000);
  console.log(`${"end".padEnd(28)} ${"".padStart(25)} ${memory()}`);
  for (let s = 10; s <= idleSeconds; s += 10) {
    await pause(10_000);
    console.log(`${`idle ${s} s`.padEnd(28)} ${"".padStart(25)} ${memory()}`);
  }
  if (heapSnapshot) {
    child.kill("SIGUSR2");
    await pause(15_000); // the snapshot is written synchronously; the process is gone meanwhile
    console.log(`heap snapshot written to ${process.cwd()} (Heap.*.heapsnapshot)`);
  }
  await wire.close();
} finally {
  await stop();
}
