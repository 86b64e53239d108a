/**
 * Resilience on a real three-node Garage (replication factor 3, so a write needs two nodes), at
 * the storage level, for the garage backend and the s3 backend: a node that stops in the middle of
 * 500 row writes and 500 blob writes loses no acknowledged write; with every node down calls fail
 * with Unavailable within seconds; when the nodes come back the same store works again by itself.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Unavailable } from "../../src/errors.ts";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import type { NetOptions } from "../../src/storage/net/index.ts";
import { openS3Store } from "../../src/storage/s3/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { skipUnless } from "../support/peers.ts";
import { garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";

const net: Partial<NetOptions> = { timeoutMs: 3_000, attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : null);
const bytes = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the tasks `width` at a time; `onDone` sees each completion, failed or not. */
async function pool(tasks: (() => Promise<void>)[], width: number, onDone: () => Promise<void> | void) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const task = tasks[next++]!;
        await task().catch(() => {});
        await onDone();
      }
    }),
  );
}

const backends = [
  {
    name: "garage",
    open: (peer: GaragePeer, node = 0) => openGarageStore({ ...peer, ...peer.nodes[node]! }, peer, { net }),
  },
  {
    name: "s3",
    open: (peer: GaragePeer, node = 0) => openS3Store({ ...peer, ...peer.nodes[node]! }, peer, { net }),
  },
];

describe(
  "three-node Garage resilience",
  { skip: skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh") },
  () => {
    let cluster: GaragePeer;
    const stores: Store[] = [];
    const track = (store: Store) => (stores.push(store), store);
    before(async () => (cluster = await startGarage({ nodes: 3, bucket: "cluster" })));
    after(async () => {
      for (const store of stores) await store.close();
      await cluster?.stop();
    });

    for (const backend of backends) {
      test(`${backend.name}: a node crashing during 500 row and 500 blob writes loses no acknowledged write, and the restarted node serves them all`, async (t) => {
        for (let i = 0; i < 3; i++) await cluster.startNode(i);
        const store = track(backend.open(cluster));
        const run = `${backend.name}-${Date.now().toString(36)}`;
        const acked = { rows: [] as number[], blobs: [] as number[] };
        const tasks: (() => Promise<void>)[] = [];
        for (let i = 0; i < 500; i++) {
          tasks.push(async () => {
            await store.rows.insert(`${run}/rows`, `r${i}`, bytes(`row ${i}`));
            acked.rows.push(i);
          });
          tasks.push(async () => {
            await store.blobs.put(`${run}/blob/${i}`, bytes(`blob ${i}`));
            acked.blobs.push(i);
          });
        }
        let done = 0;
        let stopping: Promise<void> | undefined;
        const began = Date.now();
        await pool(tasks, 8, () => {
          if (++done === 300) stopping = cluster.stopNode(2, "crash");
        });
        await stopping;
        t.diagnostic(
          `${acked.rows.length} rows and ${acked.blobs.length} blobs acknowledged of 500 + 500 in ${Date.now() - began} ms (node 2 crashed after 300)`,
        );
        assert.equal(cluster.nodes[2]!.running, false, "node 2 was stopped during the run");
        // With one node of three down, writes still reach a quorum: nearly all are acknowledged.
        assert.ok(
          acked.rows.length + acked.blobs.length >= 990,
          `only ${acked.rows.length} rows and ${acked.blobs.length} blobs acknowledged`,
        );

        const check = async (reader: Store) => {
          const { items } = await reader.rows.readRange(`${run}/rows`);
          const rows = new Map(items.map((item) => [item.sk, text(item.values[0])]));
          for (const i of acked.rows) assert.equal(rows.get(`r${i}`), `row ${i}`, `row ${i}`);
          const blobs = await Promise.all(acked.blobs.map((i) => reader.blobs.get(`${run}/blob/${i}`)));
          acked.blobs.forEach((i, at) => assert.equal(text(blobs[at]), `blob ${i}`, `blob ${i}`));
        };
        await check(store);

        await cluster.startNode(2);
        // Through the restarted node, with node 0 (where the writes went in) down: node 2 must
        // answer as one of the two nodes every read needs.
        await cluster.stopNode(0, "crash");
        const viaNode2 = track(backend.open(cluster, 2));
        await waitUntilWorking(viaNode2);
        await check(viaNode2);
        await cluster.startNode(0);
      });

      test(`${backend.name}: with every node down, calls are Unavailable within seconds; when the nodes return, the same store works again`, async (t) => {
        for (let i = 0; i < 3; i++) await cluster.startNode(i);
        const store = track(backend.open(cluster));
        await waitUntilWorking(store);
        await store.rows.insert("down", "before", bytes("kept"));
        await store.blobs.put("down/before", bytes("kept"));
        for (let i = 0; i < 3; i++) await cluster.stopNode(i, "crash");

        for (const [name, call] of Object.entries({
          "row read": () => store.rows.read("down", "before"),
          "row insert": () => store.rows.insert("down", "during", bytes("x")),
          "blob get": () => store.blobs.get("down/before"),
          "blob put": () => store.blobs.put("down/during", bytes("x")),
          poll: () => store.rows.poll("down", "before", undefined, 30_000),
        })) {
          const began = Date.now();
          await assert.rejects(call(), Unavailable, name);
          const took = Date.now() - began;
          assert.ok(took < 5_000, `${name} took ${took} ms to fail`);
          t.diagnostic(`${name}: Unavailable after ${took} ms`);
        }

        for (let i = 0; i < 3; i++) await cluster.startNode(i);
        await waitUntilWorking(store);
        assert.equal(text((await store.rows.read("down", "before"))!.values[0]), "kept");
        assert.equal(text(await store.blobs.get("down/before")), "kept");
      });
    }
  },
);

/** Retries a small write and read until the cluster has a quorum again (at most 60 s). */
async function waitUntilWorking(store: Store): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await store.rows.insert("health", "probe", bytes("x"));
      await store.blobs.put("health/probe", bytes("x"));
      await store.rows.read("health", "probe");
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}
