/**
 * dumpBucket (test/support/garage.ts) really sees everything a Garage bucket holds: the "nothing
 * readable on the host" tests rely on it, and would pass vacuously if it missed objects or rows. And
 * stop() of the same module, which every Garage-backed file ends with.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { skipUnless } from "../support/peers.ts";
import { dumpBucket, garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");
const bytes = (s: string) => new TextEncoder().encode(s);
let garage: GaragePeer;
let store: Store;

before(async () => {
  if (skip) return;
  garage = await startGarage({ bucket: "dump" });
  store = openGarageStore(garage, garage);
});
after(async () => {
  await store?.close();
  await garage?.stop();
});

test(
  "dumpBucket returns every S3 object and every K2V row value (deleted rows included), with their names (real Garage)",
  { skip },
  async () => {
    await store.blobs.put("blob/plain", bytes("the word aardvark in a blob"));
    await store.blobs.put("blob/zebra-in-the-key", bytes("x"));
    for (let i = 0; i < 3; i++) await store.rows.insert(`part${i}`, "s", bytes(`row value okapi ${i}`));
    await store.rows.insert("part0", "narwhal-sort-key", bytes("y"));
    await store.rows.insert("gone", "s", bytes("quokka, then deleted"));
    await store.rows.delete("gone", "s", (await store.rows.read("gone", "s"))!.token);
    await store.rows.insert("gone", "s", bytes("wombat, written after the delete"));

    const held = await dumpBucket(garage, { expectPartitions: 4 });
    const seen = (word: string) =>
      held.some((h) => h.name.includes(word) || Buffer.from(h.bytes).toString("utf8").includes(word));
    for (const word of ["aardvark", "zebra", "okapi 0", "okapi 1", "okapi 2", "narwhal", "wombat"])
      assert.ok(seen(word), `${word} not found in the dump`);
    assert.deepEqual(
      held.filter((h) => h.where === "s3").map((h) => h.name),
      ["blob/plain", "blob/zebra-in-the-key"],
    );
    assert.equal(held.filter((h) => h.where === "k2v").length, 6);
  },
);

test(
  "stop() ends a cluster at once while a client still holds a keep-alive connection (real Garage)",
  { skip },
  async () => {
    const peer = await startGarage({ bucket: "stopped" });
    const node = peer.nodes[0]!;
    const agent = new Agent({ keepAlive: true });
    try {
      // One answered K2V request on a socket the agent keeps open: a graceful stop of the node would
      // wait up to 10 s for it (Garage's API servers drain their connections).
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${node.k2vEndpoint}/`, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end();
      });
      assert.ok(status > 0);
      assert.equal(Object.values(agent.freeSockets).flat().length, 1, "the kept-alive socket");
      const started = Date.now();
      await peer.stop();
      const took = Date.now() - started;
      assert.equal(node.running, false);
      assert.ok(took < 5_000, `stop() took ${took} ms`);
    } finally {
      agent.destroy();
      await peer.stop();
    }
  },
);
