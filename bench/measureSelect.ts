/**
 * The storage round trips of a second computer's first session, in process (not a test: run it by
 * hand and read the numbers).
 *
 *   node --import tsx bench/measureSelect.ts [messages=1000] [roundTripMs=40]
 *
 * A first computer appends `messages` to INBOX of a memory store. Then a second one (no marks, no
 * snapshots, nothing of its own: a cold cache) runs the IMAP server on the same store, each storage
 * call held `roundTripMs` first, as a remote host would, with the incoming mail mover beside it as
 * `start` runs it. A client connects and sends LOGIN, LIST, SELECT INBOX, UID FETCH 1:* (FLAGS).
 * Per command it prints the storage calls in the order they started, and the sequential round
 * trips: a call that starts while no other is in flight begins a new one. Those counts depend on
 * the code alone, not on the machine's load.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../src/mail/account.ts";
import { TEST_KDF } from "../src/crypto/passwordKey.ts";
import { memoryStore } from "../src/storage/memoryStore.ts";
import type { Store } from "../src/storage/types.ts";
import { sampleMessage } from "../test/mail/mailFixtures.ts";
import { startTestServer } from "../test/support/testServer.ts";
import { RawImap } from "../test/support/rawImap.ts";

const messages = Number(process.argv[2] ?? 1000);
const roundTripMs = Number(process.argv[3] ?? 40);

interface Call {
  name: string;
  start: number;
  end?: number;
}
const calls: Call[] = [];
/** Calls in flight and sequential round trips: all calls, and those of the client's path alone. */
const flight = { all: 0, client: 0 };
const rounds = { all: 0, client: 0 };
let delaying = false;

/** Names a call by its layer, method and the first word of its key; times it and delays it. */
function timed(store: Store): Store {
  const wrap = <T extends object>(layer: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== "function" || !delaying) return value;
        return async (...args: unknown[]) => {
          const first = args[0];
          const key =
            typeof first === "string"
              ? `${first.split("/").slice(0, 2).join("/").slice(0, 20)}${typeof args[1] === "string" ? ` ${args[1].length > 12 ? "<ts>" : args[1]}` : ""}`
              : Array.isArray(first)
                ? `[${first.length}]`
                : "";
          const call: Call = { name: `${layer}.${String(prop)} ${key}`, start: performance.now() };
          calls.push(call);
          // A long poll waits for a change, not for the host: it counts as a call, not a trip.
          if (prop === "poll") return (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          // The incoming mail mover runs beside the client; the client waits on the other calls.
          const client = !call.name.includes(" incoming");
          if (flight.all++ === 0) rounds.all++;
          if (client && flight.client++ === 0) rounds.client++;
          try {
            await new Promise((r) => setTimeout(r, roundTripMs));
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          } finally {
            flight.all--;
            if (client) flight.client--;
            call.end = performance.now();
          }
        };
      },
    });
  return { ...store, rows: wrap("rows", store.rows), blobs: wrap("blobs", store.blobs) };
}

const raw = memoryStore();
const work = await mkdtemp(join(tmpdir(), "agl-measure-select-"));
const password = "correct horse battery staple";
await (await createAccount(raw, { user: "alice", password, kdf: TEST_KDF })).close();
const first = await openAccount(raw, password, {});
const inbox = await first.mailbox("INBOX");
for (let i = 0; i < messages; i++)
  await inbox.append(sampleMessage(i), [], Date.now() - (messages - i) * 1000);
await inbox.flushSignals();
await first.close();

const server = await startTestServer({
  store: timed(raw),
  joinExisting: true,
  marksDir: join(work, "marks"),
  incoming: { intervalMs: 60_000 },
});
try {
  delaying = true;
  const client = await RawImap.connect(server.port);
  await client.readLine();
  const steps: [string, string][] = [
    ["LOGIN", `LOGIN alice "${password}"`],
    ["LIST", 'LIST "" "*"'],
    ["SELECT", "SELECT INBOX"],
    ["UID FETCH (FLAGS)", "UID FETCH 1:* (FLAGS)"],
  ];
  let totalCalls = 0;
  let totalRounds = 0;
  let totalClient = 0;
  for (const [label, command] of steps) {
    const from = calls.length;
    rounds.all = flight.all > 0 ? 1 : 0;
    rounds.client = flight.client > 0 ? 1 : 0;
    const t0 = performance.now();
    const lines = await client.command(command, 60_000);
    const ms = performance.now() - t0;
    if (!lines.at(-1)?.includes("OK")) throw new Error(`${label}: ${lines.at(-1)}`);
    const mine = calls.slice(from);
    totalCalls += mine.length;
    totalRounds += rounds.all;
    totalClient += rounds.client;
    console.log(
      `${label}: ${mine.length} storage calls, ${rounds.all} sequential round trips (${rounds.client} without the mover's), ${ms.toFixed(0)} ms`,
    );
    for (const c of mine)
      console.log(
        `    +${(c.start - t0).toFixed(0).padStart(5)} ms ${c.end === undefined ? "   ...  " : `${(c.end - c.start).toFixed(0).padStart(4)} ms`} ${c.name}`,
      );
  }
  console.log(
    `in all: ${totalCalls} storage calls, ${totalRounds} sequential round trips (${totalClient} without the mover's)`,
  );
  await client.command("LOGOUT").catch(() => undefined);
} finally {
  delaying = false;
  await server.close();
  await rm(work, { recursive: true, force: true });
}
