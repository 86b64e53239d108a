/**
 * Where a sequential APPEND's time goes on the embedded store (not a test: run it by hand and read
 * the numbers).
 *
 *   [MEASURE_FSYNC_DELAY_MS=20] node --import tsx bench/measureAppendSteps.ts [appends=300] [rounds=1]
 *
 * Opens an account on a fresh embedded store with the folders `start` gives it (marks, index
 * snapshots, search index), appends `appends` messages one at a time as the APPEND command does
 * (the mailbox-list check beside the write), and prints the latency median and mean, the fsyncs
 * per APPEND by what they made durable (a blob, the row log, a mark, a folder) with their mean
 * duration, and the storage calls with theirs. Durations overlap: they say what an APPEND waits
 * on, not a sum.
 */
import { open, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../src/mail/account.ts";
import { TEST_KDF } from "../src/crypto/passwordKey.ts";
import { openEmbeddedStore } from "../src/storage/embedded/index.ts";
import type { Store } from "../src/storage/types.ts";
import { sampleMessage } from "../test/mail/mailFixtures.ts";

const appends = Number(process.argv[2] ?? 300);
/**
 * Added to every fsync and fdatasync (env MEASURE_FSYNC_DELAY_MS): with a delay well above the
 * machine's noise, an APPEND's latency over the delay counts the fsyncs it waits for one after
 * another, whatever else runs on the machine.
 */
const fsyncDelayMs = Number(process.env.MEASURE_FSYNC_DELAY_MS ?? 0);
const rounds = Number(process.argv[3] ?? 1);
const PASSWORD = "measure append password";

interface Tally {
  count: number;
  ms: number;
}
const tallies = new Map<string, Tally>();
function tally(name: string, ms: number): void {
  const t = tallies.get(name) ?? { count: 0, ms: 0 };
  t.count += 1;
  t.ms += ms;
  tallies.set(name, t);
}

/** Times every call to the store by "rows.insert index", "blobs.put mail"..., the key's first word. */
function timed(store: Store): Store {
  const wrap = <T extends object>(layer: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const first = args[0];
          const what = typeof first === "string" ? first.split("/")[0] : "";
          const name = `${layer}.${String(prop)} ${what}`.trim();
          const t0 = performance.now();
          const out = (value as (...a: unknown[]) => unknown).apply(obj, args);
          if (out instanceof Promise) {
            const done = () => tally(name, performance.now() - t0);
            out.then(done, done);
          } else tally(name, performance.now() - t0);
          return out;
        };
      },
    });
  return { ...store, rows: wrap("rows", store.rows), blobs: wrap("blobs", store.blobs) };
}

/** Times fsyncs and fdatasyncs made through FileHandle, named by the kind of file. */
async function timeFsyncs(dir: string, kindOf: (fh: unknown) => string): Promise<void> {
  const fh = await open(join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(fh) as {
    sync: () => Promise<void>;
    datasync: () => Promise<void>;
  };
  await fh.close();
  for (const name of ["sync", "datasync"] as const) {
    const original = proto[name];
    proto[name] = async function (this: unknown) {
      const t0 = performance.now();
      try {
        if (fsyncDelayMs > 0) await new Promise((r) => setTimeout(r, fsyncDelayMs));
        return await original.call(this);
      } finally {
        tally(`${name} ${kindOf(this)}`, performance.now() - t0);
      }
    };
  }
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

const work = await mkdtemp(join(tmpdir(), "agl-measure-steps-"));
try {
  // Which file a handle is: the stack of the call names the writer.
  // MEASURE_NO_KINDS=1 leaves the kinds out (their stack traces would fill a CPU profile).
  await timeFsyncs(work, () => {
    if (process.env.MEASURE_NO_KINDS === "1") return "any";
    const stack = new Error().stack ?? "";
    if (stack.includes("localMarks") || stack.includes("markJournal")) return "mark";
    if (stack.includes("syncFolder")) return "folder";
    if (stack.includes("blobFolder")) return "blob";
    if (stack.includes("logRowStore") || stack.includes("groupSync")) return "row log";
    if (stack.includes("localSnapshot") || stack.includes("indexSnapshots")) return "snapshot";
    if (stack.includes("search")) return "search index";
    return "other";
  });
  const raw = await openEmbeddedStore(join(work, "data"));
  await (await createAccount(raw, { user: "measure", password: PASSWORD, kdf: TEST_KDF })).close();
  const store = timed(raw);
  const account = await openAccount(store, PASSWORD, {
    marksDir: join(work, "marks"),
    snapshotsDir: join(work, "snapshots"),
    searchIndexDir: join(work, "search"),
  });
  const messages = Array.from({ length: appends }, (_, i) => sampleMessage(i));
  for (let round = 0; round < rounds; round++) {
    const name = `Measure-${round}`;
    await account.createMailbox(name);
    await account.mailbox(name);
    tallies.clear();
    const latencies: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < appends; i++) {
      const a0 = performance.now();
      const { mailbox, stillNamed } = await account.mailboxForWrite(name);
      await Promise.all([mailbox.append(messages[i]!, ["\\Seen"], Date.now()), stillNamed]);
      latencies.push(performance.now() - a0);
    }
    const total = performance.now() - t0;
    console.log(
      `round ${round + 1}: ${appends} appends in ${total.toFixed(0)} ms; latency median ${quantile(latencies, 0.5).toFixed(2)} ms, p90 ${quantile(latencies, 0.9).toFixed(1)}, p99 ${quantile(latencies, 0.99).toFixed(1)}, max ${quantile(latencies, 1).toFixed(1)}, mean ${(total / appends).toFixed(2)} ms`,
    );
    for (const [n, t] of [...tallies].sort()) {
      console.log(
        `  ${n}: ${(t.count / appends).toFixed(2)} per append, ${(t.ms / t.count).toFixed(2)} ms each`,
      );
    }
  }
  await account.close();
  await raw.close();
} finally {
  await rm(work, { recursive: true, force: true });
}
