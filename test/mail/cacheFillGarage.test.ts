/**
 * The background cache fill on a real Garage (needs Garage): computer A stores mail in the bucket,
 * computer B opens it through openStore with a local cache, as the daemon does, and fills the
 * cache. With Garage stopped, B still reads every message's meta and body: they can only have come
 * from the cache.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { CACHEABLE } from "../../src/mail/messageLayout.ts";
import type { BackendConfig } from "../../src/storage/backendConfig.ts";
import { openStore } from "../../src/storage/openStore.ts";
import { garageBinary, startGarage } from "../support/garage.ts";
import { skipUnless } from "../support/peers.ts";
import { sampleMessage } from "./mailFixtures.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

test(
  "garage (needs Garage): after the fill, a second computer reads every message with Garage down",
  { skip, timeout: 180_000 },
  async () => {
    const peer = await startGarage({ bucket: "filled" });
    cleanups.push(() => peer.stop());
    const cacheDir = await mkdtemp(join(tmpdir(), "agl-fill-garage-"));
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
    const config: BackendConfig = {
      backend: "garage",
      s3Endpoint: peer.s3Endpoint,
      k2vEndpoint: peer.k2vEndpoint,
      region: peer.region,
      bucket: peer.bucket,
    };
    const password = "correct horse battery";
    const first = await openStore(config, peer);
    const a = await createAccount(first, { user: "u", password, kdf: TEST_KDF });
    const inbox = await a.mailbox("INBOX");
    const ids: string[] = [];
    for (let i = 0; i < 25; i++)
      ids.push((await inbox.append(sampleMessage(i, { bodyLines: 50 }), [], Date.now() + i)).mailId);
    await a.close();
    await first.close();

    const store = await openStore(config, peer, { cache: { dir: cacheDir, ...CACHEABLE } });
    assert.ok(store.localCache, "openStore put a local cache in front of Garage");
    const b = await openAccount(store, password);
    try {
      const fill = new CacheFill(b, store.localCache);
      await fill.start();
      const s = fill.status();
      assert.equal(s.state, "done", s.error);
      assert.equal(s.metaCached, 25);
      assert.equal(s.bodiesCached, 25);
      await fill.close();
      await b.mailbox("INBOX"); // the index is in memory; meta and bodies must come from the cache

      await peer.stopNode(0, "crash"); // down for good: no 10 s drain of our open connections
      const metas = await b.messages.getMeta(ids);
      assert.equal(metas.size, 25);
      for (const id of ids) {
        const raw = await b.messages.body(metas.get(id)!);
        assert.ok(raw.length > 1000);
      }
    } finally {
      await b.close();
      await store.close();
    }
  },
);
