/**
 * A rekey seen by a computer with a warm local cache (needs Garage): B fills its cache, A rekeys
 * and finishes the job (the old keys are dropped), then B logs in again and FETCHes every message,
 * meta and body, with nothing deleted by hand. Its cached meta rows were sealed under the dropped
 * epoch: they are dropped and read again from storage, and the new copies serve B afterwards.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { CACHEABLE, META_PK } from "../../src/mail/messageLayout.ts";
import { beginRekey } from "../../src/mail/rekey/rekeyRoot.ts";
import { ResealJob } from "../../src/mail/rekey/resealJob.ts";
import type { BackendConfig } from "../../src/storage/backendConfig.ts";
import { openStore } from "../../src/storage/openStore.ts";
import { garageBinary, startGarage } from "../support/garage.ts";
import { skipUnless } from "../support/peers.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PW = "rekey with a warm cache";
const skip = skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

test(
  "garage (needs Garage): after a rekey elsewhere, a warm cache serves every message again",
  { skip, timeout: 180_000 },
  async () => {
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
    const a = await createAccount(storeA, { user: "u", password: PW, kdf: TEST_KDF });
    const inbox = await a.mailbox("INBOX");
    const ids: string[] = [];
    const raws = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const raw = sampleMessage(i, { bodyLines: 30 });
      const { mailId } = await inbox.append(raw, [], Date.now() + i);
      ids.push(mailId);
      raws.set(mailId, Buffer.from(raw).toString("latin1"));
    }

    // B, another computer: its cache holds every meta row and body, sealed as they are now.
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

    // A rekeys and finishes the job: the old epoch's keys are gone from keys/root.
    await beginRekey(a, PW, { kdf: TEST_KDF });
    assert.equal((await new ResealJob(a).run()).finished, true);
    await a.close();

    // B logs in again, with the cache it had (nothing deleted), and FETCHes everything.
    const storeB2 = await cached();
    cleanups.push(() => storeB2.close());
    assert.equal((await storeB2.localCache!.rowKeys(META_PK)).length, 20, "the cache is still warm");
    const b2 = await openAccount(storeB2, PW);
    const metas = await b2.messages.getMeta(ids);
    assert.equal(metas.size, 20);
    for (const id of ids) {
      const body = await b2.messages.body(metas.get(id)!);
      assert.equal(
        Buffer.from(body).toString("latin1").replace(/\r\n/g, "\n"),
        raws.get(id)!.replace(/\r\n/g, "\n"),
      );
    }
    await storeB2.localCache!.settle();
    await b2.close();

    // The rows were cached again as storage now holds them: with Garage down, they still open.
    const b3 = await openAccount(storeB2, PW);
    await b3.mailbox("INBOX");
    await peer.stopNode(0);
    const again = await b3.messages.getMeta(ids);
    assert.equal(again.size, 20);
    for (const id of ids) assert.ok((await b3.messages.body(again.get(id)!)).length > 500);
    await b3.close();
  },
);
