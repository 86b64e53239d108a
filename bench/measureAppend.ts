/**
 * In-process figures for APPEND on a real Garage (not a test: run it by hand and read the numbers).
 *
 *   node --import tsx bench/measureAppend.ts [appends=200] [moves=1000] [moveAfterSeconds=0]
 *
 * Starts a one-node Garage, opens an account on it with a marks folder (as the server does), and
 * measures: sequential appends (one at a time, as Thunderbird files a sent message) with their
 * latency median, then the storage calls by kind and the fsyncs of this process per append, both
 * until the answer and after it (what the background work adds once the burst is over); then 32
 * appends at a time; then a MOVE of `moves` messages to another mailbox, right after they were
 * added. Counts come from wrapping the store's methods, so they are exact whatever the load.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../src/mail/account.ts";
import { TEST_KDF } from "../src/crypto/passwordKey.ts";
import { openGarageStore } from "../src/storage/garage/index.ts";
import type { Store } from "../src/storage/types.ts";
import { startGarage } from "../test/support/garage.ts";
import { sampleMessage } from "../test/mail/mailFixtures.ts";

const appends = Number(process.argv[2] ?? 200);
const moves = Number(process.argv[3] ?? 1000);
/** Seconds to wait between filling the MOVE's source and moving (61: a checkpoint is then due). */
const moveAfterS = Number(process.argv[4] ?? 0);
const PASSWORD = "measure append password";

const calls = new Map<string, number>();
let fsyncs = 0;

/** Counts every call to the store by "rows.insert watch", "blobs.put mail"..., the key's first word. */
function counted(store: Store): Store {
  const wrap = <T extends object>(layer: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const first = args[0];
          const what =
            typeof first === "string"
              ? (prop === "insert" || prop === "read" || prop === "poll") && typeof args[1] === "string"
                ? `${first.split("/")[0]} ${args[1].length > 8 ? "<ts>" : args[1]}`
                : first.split("/")[0]
              : "";
          const name = `${layer}.${String(prop)} ${what}`.trim();
          calls.set(name, (calls.get(name) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  return { ...store, rows: wrap("rows", store.rows), blobs: wrap("blobs", store.blobs) };
}

/** Counts fsyncs of files and folders made through node:fs/promises' FileHandle. */
async function countFsyncs(dir: string): Promise<void> {
  const fh = await open(join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await fh.close();
  for (const name of ["sync", "datasync"] as const) {
    const original = proto[name];
    proto[name] = function (this: unknown) {
      fsyncs++;
      return original.call(this);
    };
  }
}

function snapshot(): { calls: Map<string, number>; fsyncs: number } {
  return { calls: new Map(calls), fsyncs };
}

function perOp(label: string, from: ReturnType<typeof snapshot>, n: number): void {
  const lines: string[] = [];
  let total = 0;
  for (const [name, count] of [...calls].sort()) {
    const d = count - (from.calls.get(name) ?? 0);
    if (d === 0) continue;
    total += d;
    lines.push(`    ${name}: ${(d / n).toFixed(2)}`);
  }
  console.log(
    `  ${label}: ${(total / n).toFixed(2)} storage calls, ${((fsyncs - from.fsyncs) / n).toFixed(2)} fsyncs per message`,
  );
  for (const l of lines) console.log(l);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const garage = await startGarage({ bucket: "measure" });
const work = await mkdtemp(join(tmpdir(), "agl-measure-append-"));
try {
  await countFsyncs(work);
  const bucket = {
    s3Endpoint: garage.s3Endpoint,
    k2vEndpoint: garage.k2vEndpoint,
    region: garage.region,
    bucket: garage.bucket,
    accessKeyId: garage.accessKeyId,
    secretAccessKey: garage.secretAccessKey,
  };
  const raw = openGarageStore(bucket, bucket);
  await (await createAccount(raw, { user: "measure", password: PASSWORD, kdf: TEST_KDF })).close();
  const store = counted(raw);
  let account = await openAccount(store, PASSWORD, { marksDir: join(work, "marks") });
  const inbox = await account.mailbox("INBOX");
  const messages = Array.from({ length: Math.max(appends, moves) }, (_, i) => sampleMessage(i));

  console.log(`sequential: ${appends} appends, one at a time`);
  const before = snapshot();
  const latencies: number[] = [];
  for (let i = 0; i < appends; i++) {
    const t0 = performance.now();
    // As the APPEND command does: the list read that checks the name goes beside the writes.
    const { mailbox, stillNamed } = await account.mailboxForWrite("INBOX");
    await Promise.all([mailbox.append(messages[i]!, [], Date.now()), stillNamed]);
    latencies.push(performance.now() - t0);
  }
  perOp("until the last answer", before, appends);
  await inbox.flushSignals();
  await new Promise((r) => setTimeout(r, 1500));
  perOp("with the background work after it", before, appends);
  console.log(
    `  latency: median ${median(latencies).toFixed(1)} ms, mean ${(latencies.reduce((a, b) => a + b, 0) / appends).toFixed(1)} ms`,
  );

  console.log(`pipelined: ${appends} appends, 32 at a time`);
  const pipeBefore = snapshot();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < appends) await inbox.append(messages[next++]!, [], Date.now());
    }),
  );
  console.log(`  ${((appends * 1000) / (performance.now() - t0)).toFixed(0)} msg/s`);
  await inbox.flushSignals();
  perOp("in all", pipeBefore, appends);

  if (moves > 0) {
    const source = await account.mailbox(await makeMailbox("Measure-Source"));
    let at = 0;
    while (at < moves) {
      const chunk = messages.slice(at, at + 100);
      await Promise.all(chunk.map((m) => source.append(m, [], Date.now())));
      at += chunk.length;
    }
    await makeMailbox("Measure-Target");
    // As the bench's MOVE meets it: rows older than the safety window (a checkpoint is due), read
    // by a server that opened the mailbox after they were written.
    if (moveAfterS > 0) {
      await account.close();
      await new Promise((r) => setTimeout(r, moveAfterS * 1000));
      account = await openAccount(store, PASSWORD, { marksDir: join(work, "marks") });
    }
    const selected = await account.mailbox("Measure-Source");
    const target = await account.mailbox("Measure-Target");
    const moveBefore = snapshot();
    const m0 = performance.now();
    await selected.moveTo(target, [...selected.index.byId.keys()]);
    console.log(`move: ${moves} messages in ${(performance.now() - m0).toFixed(0)} ms`);
    perOp("storage calls for the whole MOVE (per move)", moveBefore, 1);
  }
  await account.close();
  await raw.close();

  async function makeMailbox(name: string): Promise<string> {
    await account.createMailbox(name);
    return name;
  }
} finally {
  await garage.stop();
  await rm(work, { recursive: true, force: true });
}
