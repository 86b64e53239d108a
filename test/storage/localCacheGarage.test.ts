/**
 * The local cache on a real Garage, through openStore as the commands call it: a second store on
 * the same bucket and cache folder (a later run of the server) reads a meta row and a body while
 * Garage is down, so they can only have come from the cache.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Unavailable } from "../../src/errors.ts";
import type { BackendConfig } from "../../src/storage/backendConfig.ts";
import { openStore, type OpenStoreOptions } from "../../src/storage/openStore.ts";
import { garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";
import { skipUnless } from "../support/peers.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

for (const backend of ["garage", "s3"] as const) {
  test(
    `${backend} (needs Garage): a second store on the same cache folder reads a meta row and a body with Garage down`,
    { skip },
    async () => {
      const peer: GaragePeer = await startGarage({ bucket: "cached", k2v: backend === "garage" });
      cleanups.push(() => peer.stop());
      const cacheDir = await mkdtemp(join(tmpdir(), "agl-cache-garage-"));
      cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
      const config: BackendConfig =
        backend === "garage"
          ? {
              backend,
              s3Endpoint: peer.s3Endpoint,
              k2vEndpoint: peer.k2vEndpoint,
              region: peer.region,
              bucket: peer.bucket,
            }
          : { backend, s3Endpoint: peer.s3Endpoint, region: peer.region, bucket: peer.bucket };
      const logs: string[] = [];
      const options: OpenStoreOptions = {
        cache: {
          dir: cacheDir,
          rowPartitions: ["meta"],
          blobPrefixes: ["mail/"],
          log: (level, message) => logs.push(`${level} ${message}`),
        },
      };

      const body = randomBytes(200_000);
      const meta = randomBytes(2_000);
      const first = await openStore(config, peer, options);
      let expectedRow;
      try {
        await first.blobs.put("mail/m1", body);
        await first.rows.insert("meta", "m1", meta);
        await first.rows.insert("index/x", "watch", new Uint8Array([1]));
        expectedRow = await first.rows.read("meta", "m1");
      } finally {
        await first.close();
      }
      assert.ok(expectedRow, "the row was written");
      assert.deepEqual(expectedRow.values, [new Uint8Array(meta)]);

      await peer.stopNode(0, "crash"); // down for good: no 10 s drain of our open connections
      const second = await openStore(config, peer, options);
      try {
        assert.deepEqual(await second.rows.readBatch([{ pk: "meta", sk: "m1" }]), [expectedRow]);
        assert.deepEqual(await second.rows.read("meta", "m1"), expectedRow);
        assert.deepEqual(await second.blobs.get("mail/m1"), new Uint8Array(body));
        assert.deepEqual(
          await second.blobs.get("mail/m1", { start: 65_536, end: 65_536 + 4_095 }),
          new Uint8Array(body.subarray(65_536, 65_536 + 4_096)),
        );
        // Garage is really unreachable: what the cache must not hold fails.
        await assert.rejects(second.rows.read("index/x", "watch"), Unavailable);
        assert.deepEqual(logs, []);
      } finally {
        await second.close();
      }
    },
  );
}
