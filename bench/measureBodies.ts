/**
 * A second computer's FETCH of the newest bodies, in process, with every storage call held as a
 * remote host would hold it (not a test: run it by hand and read the numbers).
 *
 *   [BENCH_BODY_ROWS=1] node --import tsx bench/measureBodies.ts [roundTripMs=40] [bodies=200] [large=2] [fetch|search] [pool16]
 *
 * A first computer appends `bodies` + 100 messages of ~40 kB to INBOX of a memory store, `large` of
 * the newest `bodies` being 3.7 MB (as in the bench's corpus at 1,000). A second computer (a cold
 * cache) serves it; each storage call waits `roundTripMs` first, at most as many in flight as a
 * network store's pool allows at that round trip (storage/net/roundTrip.ts; `pool16`: 16, the
 * fixed pool before it followed the round trip), and the store says so (readParallelism). The client logs in, selects INBOX, and times
 * `UID FETCH <newest bodies> (UID RFC822.SIZE BODY.PEEK[])`. The calls, the sequential round trips
 * (a call that starts while none is in flight begins one) and the time depend on the code and the
 * round trip far more than on the machine's load. With `search`, it times `UID SEARCH BODY` of a
 * word no message holds instead (every message's text read: the scan of a computer without the
 * search index). BENCH_BODY_ROWS=1: the store takes large rows, as Garage's K2V does
 * (Store.largeRowBytes), so the small bodies are rows `body`/<id> read many to a batch.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../src/mail/account.ts";
import { TEST_KDF } from "../src/crypto/passwordKey.ts";
import { memoryStore } from "../src/storage/memoryStore.ts";
import { poolFor } from "../src/storage/net/roundTrip.ts";
import type { Store } from "../src/storage/types.ts";
import { sampleMessage } from "../test/mail/mailFixtures.ts";
import { startTestServer } from "../test/support/testServer.ts";
import { holdStore, type HoldStats } from "./heldStore.ts";
import { selectedInbox } from "./tagWaiter.ts";

const roundTripMs = Number(process.argv[2] ?? 40);
const bodies = Number(process.argv[3] ?? 200);
const large = Number(process.argv[4] ?? 2);
const mode = process.argv[5] === "search" ? "search" : "fetch";
const pool = process.argv[6] === "pool16" ? 16 : poolFor(roundTripMs, 16, 64);
const total = bodies + 100;

let delaying = false;
let blobGets = 0;
/** Each call held roundTripMs, `pool` in flight at most (bench/heldStore.ts). */
function remote(store: Store): { store: Store; stats: HoldStats } {
  const held = holdStore(store, {
    roundTripMs,
    pool,
    holding: () => delaying,
    onCall: (layer, method) => {
      if (layer === "blobs" && method === "get") blobGets++;
    },
  });
  const readParallelism = process.argv[6] === "pool16" ? {} : { readParallelism: () => pool };
  const large = store.largeRowBytes ? { largeRowBytes: store.largeRowBytes } : {};
  return { store: { ...held.store, ...readParallelism, ...large }, stats: held.stats };
}

/** A message of ~40 kB, or of 3.7 MB for the large ones. */
function message(i: number, big: boolean): Uint8Array {
  return sampleMessage(i, { bodyLines: big ? 60_000 : 650 });
}

const raw = memoryStore(process.env.BENCH_BODY_ROWS === "1" ? { largeRowBytes: 80 * 1024 } : {});
const work = await mkdtemp(join(tmpdir(), "agl-measure-bodies-"));
const password = "correct horse battery staple";
await (await createAccount(raw, { user: "alice", password, kdf: TEST_KDF })).close();
const first = await openAccount(raw, password, {});
const inbox = await first.mailbox("INBOX");
const bigAt = new Set(
  Array.from({ length: large }, (_, k) => total - 1 - Math.floor(((k + 1) * bodies) / (large + 1))),
);
for (let i = 0; i < total; i++)
  await inbox.append(message(i, bigAt.has(i)), [], Date.now() - (total - i) * 1000);
await inbox.flushSignals();
await first.close();

const held = remote(raw);
const { stats } = held;
const server = await startTestServer({
  store: held.store,
  joinExisting: true,
  marksDir: join(work, "marks"),
  incoming: { intervalMs: 60_000 },
});
try {
  delaying = true;
  const { socket, imap } = await selectedInbox(server.port, password);
  await imap.command("c", "UID FETCH 1:* (FLAGS)");
  Object.assign(stats, { calls: 0, rounds: 0 });
  blobGets = 0;
  imap.received = 0;
  const t0 = performance.now();
  const asked =
    mode === "search"
      ? "UID SEARCH BODY xylophonequartz"
      : `UID FETCH ${total - bodies + 1}:${total} (UID RFC822.SIZE BODY.PEEK[])`;
  await imap.command("d", asked);
  const ms = performance.now() - t0;
  const what = mode === "search" ? `SEARCH BODY over ${total} messages` : `${bodies} bodies`;
  console.log(
    `${what} (${large} of 3.7 MB, ${(imap.received / 1e6).toFixed(1)} MB answered) at ${roundTripMs} ms a round trip: ` +
      `${ms.toFixed(0)} ms (pool ${pool}), ${stats.calls} storage calls (${blobGets} blob GETs), ${stats.rounds} sequential round trips`,
  );
  socket.destroy();
} finally {
  delaying = false;
  await server.close();
  await rm(work, { recursive: true, force: true });
}
