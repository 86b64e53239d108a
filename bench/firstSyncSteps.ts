/**
 * The bench's first sync, step by step, with the server's CPU time per step (not a test: run it by
 * hand and read the numbers). On a shared machine wall times swing several-fold with the load;
 * the server's CPU time (/proc/PID/stat: all its threads, 10 ms ticks) moves far less.
 *
 *   node --import tsx bench/firstSyncSteps.ts TREE HOME [NODE_FLAGS...]
 *
 * TREE is a built tree (its bin/aerogramme-local.js is started, so two trees, before and after a
 * change, can be compared turn about); HOME a home as bench/memoryWalk.ts takes it, which the
 * session changes (snapshots, marks): run each walk on a fresh copy, and rewrite `dataDir` in
 * the copy's settings.json (an absolute path: else every copy reads and writes the original's
 * store, and each walk finds what the previous one left). The session is
 * bench/session.ts's first sync: connect, LOGIN, CAPABILITY, LIST, SELECT INBOX; UID FETCH 1:*
 * (FLAGS); the header list in chunks of 200; the 200 newest bodies. Prints one line:
 * `step wall/CPU` in ms. With NODE_FLAGS the server runs as `node NODE_FLAGS` (the launcher's
 * memory settings then do not apply), e.g. `--cpu-prof --cpu-prof-dir=DIR`; MARKS=1 then also
 * prints each step's start and end on the monotonic clock in µs (`step start end`), the clock of
 * a V8 CPU profile's timestamps, so that bench/profileSteps.mjs can cut the profile into steps.
 */
import { readFileSync } from "node:fs";
import { ImapWire } from "./imapWire.ts";
import { launchServer } from "./launchServer.ts";

const [tree, home, ...nodeFlags] = process.argv.slice(2);
if (!tree || !home)
  throw new Error("usage: node --import tsx bench/firstSyncSteps.ts TREE HOME [NODE_FLAGS...]");
const launcher = `${tree}/bin/aerogramme-local.js`;
const { child, port, stop } = await launchServer({ launcher, home, nodeFlags, stderr: "ignore" });

const micros = () => Number(process.hrtime.bigint() / 1000n);
function cpuMs(): number {
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), in clock ticks of 10 ms.
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const marks: string[] = [];
const results: [string, number, number][] = [];
async function step(name: string, run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  const c0 = cpuMs();
  const u0 = micros();
  await run();
  const ms = performance.now() - t0;
  results.push([name, ms, cpuMs() - c0]);
  marks.push(`${name} ${u0} ${micros()}`);
  return ms;
}

const TB_HEADERS =
  "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";
try {
  // As after the bench's restart: the listening line, then the client.
  await new Promise((r) => setTimeout(r, 300));
  let wire: ImapWire | undefined;
  let uids: number[] = [];
  let total = await step("open", async () => {
    wire = await ImapWire.open("127.0.0.1", port);
    await step("login", () => wire!.command('LOGIN bench "bench-password-Aer0"'));
    await wire.command("CAPABILITY");
    await step("list", () => wire!.command('LIST "" "*"'));
    await step("select", () => wire!.command("SELECT INBOX"));
  });
  total += await step("flags", async () => {
    const t = await wire!.command("UID FETCH 1:* (FLAGS)");
    uids = t.untagged.flatMap((r) => {
      const m = /UID (\d+)/.exec(r.text);
      return m ? [Number(m[1])] : [];
    });
  });
  total += await step("headers", async () => {
    for (let i = 0; i < uids.length; i += 200) {
      const range = `${uids[i]}:${uids[Math.min(i + 199, uids.length - 1)]}`;
      await wire!.command(
        `UID FETCH ${range} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${TB_HEADERS})])`,
      );
    }
  });
  total += await step("bodies", () =>
    wire!.command(`UID FETCH ${uids.at(-200)}:${uids.at(-1)} (UID RFC822.SIZE BODY.PEEK[])`),
  );
  await wire!.close();
  const line = results.map(([name, ms, cpu]) => `${name} ${ms.toFixed(0)}/${cpu}`).join("  ");
  console.log(`${line}  total ${total.toFixed(0)}`);
  if (process.env.MARKS === "1") console.log(marks.join("\n"));
} finally {
  await stop();
}
