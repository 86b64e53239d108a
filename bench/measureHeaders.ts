/**
 * A second computer's header list, in process, with every storage call held as a remote host would
 * hold it (not a test: run it by hand and read the numbers).
 *
 *   node --import tsx bench/measureHeaders.ts [roundTripMs=40] [messages=2000] [nofill]
 *
 * A first computer appends `messages` small messages to INBOX of a memory store. A second computer
 * serves it through a cold local cache (an embedded store in a temporary folder) with the cache
 * fill running as `start` runs it (`nofill`: without it); each storage call waits `roundTripMs`
 * first, at most 16 in flight (K2V's pool). The client logs in, selects INBOX, fetches the flags,
 * then times the header list as Thunderbird and the bench ask for it: `UID FETCH a:b (UID
 * RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (...)])` in chunks of 200. Printed: the time from the
 * SELECT's answer to the last chunk's and of the list alone, storage calls, meta rows read from the
 * remote (and how many more than once), the sequential round trips (a call that starts while
 * none is in flight begins one), and how long the chunks waited on storage: for each chunk, from
 * its command's sending to the arrival of the last of its meta rows from the remote, when that
 * came later; and this process's CPU time over the list (client, server and cache writes). On a
 * loaded machine the times are mostly CPU; the wait is the part the code's round trips decide.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../src/mail/account.ts";
import { CacheFill } from "../src/mail/cacheFill.ts";
import { CACHEABLE, META_PK } from "../src/mail/messageLayout.ts";
import { withLocalCache } from "../src/storage/cache/index.ts";
import { openEmbeddedStore } from "../src/storage/embedded/index.ts";
import { memoryStore } from "../src/storage/memoryStore.ts";
import type { Store } from "../src/storage/types.ts";
import { sampleMessage } from "../test/mail/mailFixtures.ts";
import { startTestServer } from "../test/support/testServer.ts";
import { holdStore } from "./heldStore.ts";
import { selectedInbox } from "./tagWaiter.ts";

const roundTripMs = Number(process.argv[2] ?? 40);
const total = Number(process.argv[3] ?? 2000);
const withFill = process.argv[4] !== "nofill";
const POOL = 16;
const TB_HEADERS =
  "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";

/** Meta rows asked of the remote, by id: how many times each. */
const metaRows = new Map<string, number>();
/** When each meta row first came back from the remote (performance.now()). */
const arrived = new Map<string, number>();
let delaying = false;

const metaKeys = (method: string, args: unknown[]) =>
  method === "readBatch" ? (args[0] as { pk: string; sk: string }[]).filter((k) => k.pk === META_PK) : [];

/** Each call held roundTripMs, POOL in flight at most (bench/heldStore.ts), meta rows counted. */
function remote(store: Store) {
  return holdStore(store, {
    roundTripMs,
    pool: POOL,
    holding: () => delaying,
    passThrough: ["hasRows"],
    onCall: (_, method, args) => {
      for (const k of metaKeys(method, args)) metaRows.set(k.sk, (metaRows.get(k.sk) ?? 0) + 1);
    },
    onAnswer: (_, method, args) => {
      for (const k of metaKeys(method, args)) if (!arrived.has(k.sk)) arrived.set(k.sk, performance.now());
    },
  });
}

const raw = memoryStore();
const work = await mkdtemp(join(tmpdir(), "agl-measure-headers-"));
const password = "correct horse battery staple";
await (await createAccount(raw, { user: "alice", password, kdf: TEST_KDF })).close();
const first = await openAccount(raw, password, {});
const inbox = await first.mailbox("INBOX");
for (let i = 0; i < total; i++)
  await inbox.append(sampleMessage(i, { bodyLines: 20 }), [], Date.now() - (total - i) * 1000);
await inbox.flushSignals();
const idsInUidOrder = Array.from({ length: inbox.index.shown.size }, (_, i) => inbox.index.shown.idAt(i));
await first.close();

const held = remote(raw);
const { stats } = held;
const cached = await withLocalCache(
  held.store,
  await openEmbeddedStore(join(work, "cache"), { volatileBlobs: true }),
  CACHEABLE,
);
const server = await startTestServer({
  store: cached,
  joinExisting: true,
  marksDir: join(work, "marks"),
  incoming: { intervalMs: 60_000 },
});
const fills: CacheFill[] = [];
if (withFill)
  server.directory.onLogin((account) => {
    const fill = new CacheFill(account, cached.localCache, { mode: "all" });
    fills.push(fill);
    void fill.start();
  });
try {
  delaying = true;
  const { socket, imap } = await selectedInbox(server.port, password);
  const t0 = performance.now();
  await imap.command("c", "UID FETCH 1:* (FLAGS)");
  const t1 = performance.now();
  const calls0 = stats.calls;
  const rounds0 = stats.rounds;
  const cpu0 = process.cpuUsage();
  const sent: number[] = [];
  for (let from = 1; from <= total; from += 200) {
    sent.push(performance.now());
    await imap.command(
      `h${from}`,
      `UID FETCH ${from}:${Math.min(total, from + 199)} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${TB_HEADERS})])`,
    );
  }
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  let waited = 0;
  let chunksWaiting = 0;
  sent.forEach((at, k) => {
    const last = Math.max(...idsInUidOrder.slice(k * 200, k * 200 + 200).map((id) => arrived.get(id) ?? 0));
    if (last > at) {
      waited += last - at;
      chunksWaiting++;
    }
  });
  const twice = [...metaRows.values()].filter((n) => n > 1).length;
  console.log(
    `${total} messages at ${roundTripMs} ms a round trip${withFill ? "" : " (no cache fill)"}: ` +
      `flags + headers ${(t2 - t0).toFixed(0)} ms, headers ${(t2 - t1).toFixed(0)} ms; during the headers ` +
      `${stats.calls - calls0} storage calls, ${stats.rounds - rounds0} sequential round trips; ` +
      `meta rows read from the remote ${metaRows.size} (${twice} more than once); ` +
      `${chunksWaiting} of ${sent.length} chunks waited on storage, ${waited.toFixed(0)} ms in all; ` +
      `this process's CPU during the headers ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
  );
  socket.destroy();
} finally {
  delaying = false;
  for (const fill of fills) await fill.close();
  await server.close();
  await cached.close();
  await rm(work, { recursive: true, force: true });
}
