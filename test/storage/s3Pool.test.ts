/**
 * The S3 pool follows the round trip: near a host it keeps its configured size, in front of a far
 * one it grows (up to its ceiling) so that a burst of GETs is bound by the link, not by the pool.
 * Against a small HTTP server on 127.0.0.1 that answers every GET after a set delay.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import { poolFor, RoundTrip } from "../../src/storage/net/roundTrip.ts";
import { Limiter } from "../../src/storage/net/limiter.ts";
import type { Store } from "../../src/storage/types.ts";

/** A host that answers each GET with 1 kB after `delayMs`, and counts the GETs it holds at once. */
function slowHost() {
  const state = { delayMs: 0, inFlight: 0, maxInFlight: 0 };
  const server = createServer((req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    req.resume();
    setTimeout(() => {
      state.inFlight--;
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000" });
      res.end(Buffer.alloc(1000, 7));
    }, state.delayMs);
  });
  return { server, state };
}

describe("the S3 pool follows the round trip", () => {
  const { server, state } = slowHost();
  const stores: Store[] = [];
  let url = "";
  /** A store of a computer that just started (no round trip measured yet). */
  const open = () => {
    const store = openGarageStore(
      { s3Endpoint: url, k2vEndpoint: url, region: "garage", bucket: "pool" },
      { accessKeyId: "GK00", secretAccessKey: "0".repeat(64) },
      { net: { attempts: 1, timeoutMs: 5_000 } },
    );
    stores.push(store);
    return store;
  };
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const store of stores) await store.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const burst = async (store: Store, n: number) => {
    state.maxInFlight = 0;
    await Promise.all(Array.from({ length: n }, (_, i) => store.blobs.get(`b${i}`)));
    return state.maxInFlight;
  };

  test("next to the host (answers at once), 120 GETs at once keep to the configured 16", async () => {
    state.delayMs = 0;
    const store = open();
    // Several, so that one slowed by a loaded machine does not count: the smallest does.
    for (let i = 0; i < 12; i++) await store.blobs.get("warm");
    assert.ok((await burst(store, 120)) <= 16, `${state.maxInFlight} GETs in flight`);
    assert.equal(store.readParallelism?.(), 16);
  });

  test("behind a 100 ms round trip, 120 GETs at once have 32 to 64 in flight (16 before)", async () => {
    state.delayMs = 100;
    const store = open();
    // A login's reads come one at a time: those are what the round trip is measured on.
    for (let i = 0; i < 3; i++) await store.blobs.get("keys/root");
    const most = await burst(store, 120);
    assert.ok(most >= 32 && most <= 64, `${most} GETs in flight`);
    assert.ok((store.readParallelism?.() ?? 0) >= 32, `pool ${store.readParallelism?.()}`);
  });
});

describe("the round trip estimate and the pool size", () => {
  test("the estimate is the smallest of the last 32 times, so a busy moment does not grow the pool", () => {
    const rt = new RoundTrip();
    assert.equal(rt.ms, undefined);
    for (const ms of [120, 45, 300, 41, 90]) rt.record(ms);
    assert.equal(rt.ms, 41);
    for (let i = 0; i < 32; i++) rt.record(100 + i);
    assert.equal(rt.ms, 100, "old samples leave the window");
  });

  test("the pool is the configured size near, grows with the round trip, and stops at the ceiling", () => {
    assert.equal(poolFor(undefined, 16, 64), 16);
    assert.equal(poolFor(2, 16, 64), 16);
    assert.equal(poolFor(40, 16, 64), 16);
    assert.equal(poolFor(100, 16, 64), 40);
    assert.equal(poolFor(1000, 16, 64), 64);
    assert.equal(poolFor(1000, 3, 2), 3, "a ceiling below the configured size leaves that size");
  });

  test("a limiter grown while calls wait lets them go; shrunk, it lets calls end before new ones start", async () => {
    const limiter = new Limiter(2);
    let inFlight = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const call = () =>
      limiter.run(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((resolve) => gates.push(resolve));
        inFlight--;
      });
    const calls = Array.from({ length: 6 }, call);
    await new Promise((r) => setImmediate(r));
    assert.equal(inFlight, 2);
    limiter.resize(5);
    await new Promise((r) => setImmediate(r));
    assert.equal(inFlight, 5);
    limiter.resize(1);
    for (let i = 0; i < 4; i++) gates.shift()!();
    await new Promise((r) => setImmediate(r));
    assert.equal(inFlight, 1, "the shrink holds back the waiting call until only one is in flight");
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(calls);
    assert.equal(most, 5);
  });
});
