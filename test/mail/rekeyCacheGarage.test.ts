/**
 * A rekey seen by a computer with a warm local cache (needs Garage): B fills its cache, A rekeys
 * and finishes the job (the old keys are dropped), then B logs in again and FETCHes every message
 * over IMAP, meta and body, with nothing deleted by hand. Its cached meta rows were sealed under
 * the dropped epoch: they are dropped and read again from storage, and the new copies serve B
 * afterwards.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { StaleEpoch } from "../../src/errors.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { CACHEABLE, META_PK } from "../../src/mail/messageLayout.ts";
import { beginRekey } from "../../src/mail/rekey/rekeyRoot.ts";
import { ResealJob } from "../../src/mail/rekey/resealJob.ts";
import type { BackendConfig } from "../../src/storage/backendConfig.ts";
import { openStore } from "../../src/storage/openStore.ts";
import { garageBinary, startGarage } from "../support/garage.ts";
import { skipUnless } from "../support/peers.ts";
import { RawImap } from "../support/rawImap.ts";
import { startTestServer } from "../support/testServer.ts";
import { sampleMessage } from "./mailFixtures.ts";

// The user and password that test/support/testServer.ts logs in with.
const USER = "alice";
const PW = "correct horse battery staple";
const skip = skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/**
 * A's account with 20 messages; B fills its cache with them (sealed as they are now); A rekeys and
 * finishes the job, so the old epoch's keys are gone from keys/root. Returns B's way back in.
 */
async function warmCacheThenRekey() {
  const peer = await startGarage({ bucket: "rekeycache" });
  cleanups.push(() => peer.stop());
  const cacheDir = await mkdtemp(join(tmpdir(), "agl-rekey-cache-"));
  cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
  const config: BackendConfig = {
    backend: "garage",
    s3Endpoint: peer.s3Endpoint,
    k2vEndpoint: peer.k2vEndpoint,
    region: peer.region,
    bucket: peer.bucket,
  };
  const cached = () => openStore(config, peer, { cache: { dir: cacheDir, ...CACHEABLE } });

  const storeA = await openStore(config, peer);
  cleanups.push(() => storeA.close());
  const a = await createAccount(storeA, { user: USER, password: PW, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  const raws = new Map<string, string>();
  for (let i = 0; i < 20; i++) {
    const raw = sampleMessage(i, { bodyLines: 30 });
    const { mailId } = await inbox.append(raw, [], Date.now() + i);
    raws.set(mailId, crlf(raw));
  }

  const storeB = await cached();
  const b = await openAccount(storeB, PW);
  const fill = new CacheFill(b, storeB.localCache!);
  await fill.start();
  assert.equal(fill.status().state, "done", fill.status().error);
  assert.equal(fill.status().metaCached, 20);
  assert.equal(fill.status().bodiesCached, 20);
  await fill.close();
  await b.close();
  await storeB.close();

  const first = [...raws.keys()][0]!;
  const oldRow = (await storeA.rows.read(META_PK, first))!.values[0]!;
  await beginRekey(a, PW, { kdf: TEST_KDF });
  assert.equal((await new ResealJob(a).run()).finished, true);
  await a.close();

  // B again, with the cache it had: nothing deleted by hand.
  const storeB2 = await cached();
  cleanups.push(() => storeB2.close());
  assert.equal((await storeB2.localCache!.rowKeys(META_PK)).length, 20, "the cache is still warm");
  // The host serving the first message's row as it was before the rekey.
  const putBackOld = async () =>
    storeA.rows.insert(META_PK, first, oldRow, (await storeA.rows.read(META_PK, first))!.token);
  return { peer, store: storeB2, ids: [...raws.keys()], raws, putBackOld };
}

const crlf = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1").replace(/\r?\n/g, "\r\n");

test(
  "garage (needs Garage): after a rekey elsewhere, IMAP FETCH through a warm cache reads every message",
  { skip, timeout: 180_000 },
  async () => {
    const { peer, store, ids, raws } = await warmCacheThenRekey();
    // B's IMAP server (no cache fill), a client logging in and fetching everything.
    const server = await startTestServer({ store, joinExisting: true });
    try {
      const c = await RawImap.connect(server.port);
      await c.readLine();
      assert.match((await c.command(`LOGIN ${USER} "${PW}"`)).at(-1)!, /^A\d+ OK/);
      assert.match((await c.command("SELECT INBOX")).at(-1)!, /^A\d+ OK/);
      const lines = await c.command("FETCH 1:* (ENVELOPE BODY.PEEK[])", 30_000);
      assert.match(lines.at(-1)!, /^A\d+ OK/, lines.slice(-3).join("\n"));
      assert.equal(lines.filter((l) => /^\* \d+ FETCH /.test(l)).length, 20);
      const text = lines.join("\n");
      for (let i = 0; i < 20; i++) assert.ok(text.includes(`Message-ID: <msg${i}@example.org>`), `body ${i}`);
      c.close();
    } finally {
      await server.close();
    }
    const b2 = await openAccount(store, PW);
    const metas = await b2.messages.getMeta(ids);
    assert.equal(metas.size, 20);
    for (const id of ids) assert.equal(crlf(await b2.messages.body(metas.get(id)!)), raws.get(id));
    await store.localCache!.settle();
    await b2.close();

    // The rows were cached again as storage now holds them: with Garage down, they still open.
    const b3 = await openAccount(store, PW);
    await b3.mailbox("INBOX");
    await peer.stopNode(0, "crash"); // down for good: no 10 s drain of our open connections
    const again = await b3.messages.getMeta(ids);
    assert.equal(again.size, 20);
    for (const id of ids) assert.equal(crlf(await b3.messages.body(again.get(id)!)), raws.get(id));
    await b3.close();
  },
);

test(
  "garage (needs Garage): after a rekey elsewhere, the fill at login replaces every stale copy",
  { skip, timeout: 180_000 },
  async () => {
    const { peer, store, ids, raws } = await warmCacheThenRekey();
    // What the daemon does at each login (daemon.ts): a fill whose meta step reads every row.
    const b2 = await openAccount(store, PW);
    const fill = new CacheFill(b2, store.localCache!);
    await fill.start();
    assert.equal(fill.status().state, "done", fill.status().error);
    assert.equal(fill.status().metaCached, 20);
    await fill.close();
    await b2.close();

    // No read of a message by a client came first, yet nothing stale is left: Garage down, all open.
    const b3 = await openAccount(store, PW);
    await b3.mailbox("INBOX");
    await peer.stopNode(0, "crash"); // down for good: no 10 s drain of our open connections
    const metas = await b3.messages.getMeta(ids);
    assert.equal(metas.size, 20);
    for (const id of ids) assert.equal(crlf(await b3.messages.body(metas.get(id)!)), raws.get(id));
    await b3.close();
  },
);

test(
  "garage (needs Garage): an old row put back in storage is still refused, not trusted",
  { skip, timeout: 180_000 },
  async () => {
    const { store, ids, putBackOld } = await warmCacheThenRekey();
    await putBackOld();
    const b2 = await openAccount(store, PW);
    // The cached copy is dropped and storage read again; storage's answer is stale too: refused.
    await assert.rejects(b2.messages.getMeta([ids[0]!]), StaleEpoch);
    assert.equal((await b2.messages.getMeta(ids.slice(1))).size, 19);
    await b2.close();
  },
);
