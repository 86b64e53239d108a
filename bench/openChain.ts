/**
 * The storage requests a client's first steps wait on, in time order (not a test: run it by hand
 * and read the timeline).
 *
 *   node --import tsx bench/openChain.ts [target=garage-delay-cold] [size=10000] [runs=3] [then=1]
 *
 * Starts the target as `npm run bench` does, then per run: kill -9 of the server, the local cache
 * deleted for a cold target, the server started again (a fresh process, so LOGIN pays Argon2id as
 * in the bench), and connect, LOGIN, CAPABILITY, LIST, SELECT INBOX; with resync, then SELECT INBOX
 * again and UID FETCH 1:* (FLAGS) (a resync with nothing changed); with then=sync, the rest of the
 * bench's first sync instead (FLAGS, the header list in chunks of 200, the 200 newest bodies), to
 * see what the newest bodies' reads overlap; with then=idle, nothing for 3 s after the SELECT, to see
 * how long the newest bodies' fetch at login takes when no client command competes with it. Prints each IMAP command's
 * answer and each storage request as the server saw it (sent, answered; ms from connect), from the
 * proxies' trace (delayProxy.ts): requests that start only after another's answer are a chain of
 * round trips, and what overlaps Argon2id or another request costs no round trip of its own.
 * MARKS=1 also prints each command's window on the monotonic clock (µs), for bench/profileSteps.mjs
 * to cut a profile taken with BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" (with runs=1:
 * a server killed with -9 writes no profile).
 */
import { rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { ensureCorpus } from "./corpus.ts";
import { ImapWire, quoted } from "./imapWire.ts";
import { makeTarget, type TargetName } from "./targets.ts";

const target = (process.argv[2] ?? "garage-delay-cold") as TargetName;
const size = Number(process.argv[3] ?? 10000);
const runs = Number(process.argv[4] ?? 3);
const then = process.argv[5] ?? "1";
const resync = then === "1";
const TB_HEADERS =
  "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";
const traceFile = process.env.BENCH_PROXY_TRACE ?? `/tmp/openChain-${process.pid}.trace`;
process.env.BENCH_PROXY_TRACE = traceFile;
await writeFile(traceFile, "");
const delayMs = target.includes("rtt100") ? 50 : target.includes("delay") ? 20 : 0;

const corpus = await ensureCorpus(size, { log: (l) => console.log(l) });
const t = makeTarget(target);
const running = await t.start(corpus, (l) => console.log(l));
const home = (running as unknown as { home?: string }).home;
try {
  for (let run = 1; run <= runs; run++) {
    let endpoint = { host: running.host, port: running.port };
    if (run > 1 || !target.endsWith("-cold")) {
      // A fresh process each run; the first run of a cold target is the bench's own state.
      const restarted = await running.crash!(async () => {
        if (target.endsWith("-cold") && home) await rm(join(home, "cache"), { recursive: true, force: true });
      });
      endpoint = { host: restarted.host, port: restarted.port };
    }
    await new Promise((r) => setTimeout(r, 300)); // as after the bench's restart
    await truncate(traceFile);
    const events: [number, string][] = [];
    const t0 = Date.now();
    const steps: string[] = [];
    let stepStart = Number(process.hrtime.bigint() / 1000n);
    const mark = (what: string) => {
      events.push([Date.now() - t0, what]);
      const now = Number(process.hrtime.bigint() / 1000n);
      steps.push(`${what.replace(/\W+/g, "_")} ${stepStart} ${now}`);
      stepStart = now;
    };
    const wire = await ImapWire.open(endpoint.host, endpoint.port);
    mark("connected");
    await wire.command(`LOGIN ${quoted(running.user)} ${quoted(running.password)}`);
    mark("LOGIN OK");
    await wire.command("CAPABILITY");
    mark("CAPABILITY OK");
    await wire.command('LIST "" "*"');
    mark("LIST OK");
    await wire.command("SELECT INBOX");
    mark("SELECT OK");
    if (resync) {
      await wire.command("UID FETCH 1:* (FLAGS)");
      mark("FLAGS OK");
      await new Promise((r) => setTimeout(r, 1000));
      mark("(a second later)");
      await wire.command("SELECT INBOX");
      mark("resync SELECT OK");
      await wire.command("UID FETCH 1:* (FLAGS)");
      mark("resync FLAGS OK");
    }
    if (then === "idle") {
      await new Promise((r) => setTimeout(r, 3000));
      mark("(3 s later)");
    }
    if (then === "sync") {
      const flags = await wire.command("UID FETCH 1:* (FLAGS)");
      mark("FLAGS OK");
      const uids = flags.untagged.flatMap((r) => {
        const m = /UID (\d+)/.exec(r.text);
        return m ? [Number(m[1])] : [];
      });
      for (let i = 0; i < uids.length; i += 200) {
        const range = `${uids[i]}:${uids[Math.min(i + 199, uids.length - 1)]}`;
        await wire.command(
          `UID FETCH ${range} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${TB_HEADERS})])`,
        );
        if (i === 0) mark("first 200 headers OK");
      }
      mark("header list OK");
      await wire.command(`UID FETCH ${uids.at(-200)}:${uids.at(-1)} (UID RFC822.SIZE BODY.PEEK[])`);
      mark("200 bodies OK");
    }
    await wire.close();
    for (const line of readFileSync(traceFile, "utf8").split("\n")) {
      const m = /^(\d+) ([\d.]+) (\d+) (\S+) (\S+)(.*)$/.exec(line);
      if (!m) continue;
      const answered = Number(m[1]) - t0 + delayMs; // the answer still crosses the proxy back
      const sent = Math.round(Number(m[1]) - Number(m[2]) - t0);
      const path = m[5]!.replace(/[0-9a-f]{32}/g, (id) => id.slice(0, 6));
      events.push([sent, `  storage ${m[4]} ${path.slice(0, 90)} ${m[3]}${m[6]} -> ${answered.toFixed(0)}`]);
    }
    events.sort((a, b) => a[0] - b[0]);
    console.log(`${target}, run ${run}:`);
    for (const [at, what] of events) console.log(`${String(at).padStart(6)}  ${what}`);
    if (process.env.MARKS === "1") console.log(steps.join("\n"));
  }
} finally {
  await t.stop();
}
