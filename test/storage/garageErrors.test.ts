/**
 * How the garage and s3 backends fail: each refusal of a real Garage gets its own clear error, an
 * unreachable or silent host becomes Unavailable within the configured time, host errors are
 * retried and client errors are not.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { AuthFailed, Unavailable } from "../../src/errors.ts";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import type { NetOptions } from "../../src/storage/net/index.ts";
import { openS3Store } from "../../src/storage/s3/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { skipUnless } from "../support/peers.ts";
import { freePort, garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";

const fast: Partial<NetOptions> = { timeoutMs: 500, attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
const bytes = (s: string) => new TextEncoder().encode(s);

/** Runs `call`, expects it to fail with `kind`, and returns the error and how long it took. */
async function failure(call: () => Promise<unknown>, kind: typeof AuthFailed | typeof Unavailable) {
  const began = Date.now();
  const err = await call().then(
    () => assert.fail("the call succeeded"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
  return { message: (err as Error).message, ms: Date.now() - began };
}

/** Calls that touch both APIs: a blob put, a blob get, a row read, a row insert. */
const calls = (store: Store) => ({
  "blob put": () => store.blobs.put("x", bytes("x")),
  "blob get": () => store.blobs.get("x"),
  "row read": () => store.rows.read("p", "s"),
  "row insert": () => store.rows.insert("p", "s", bytes("v")),
});

describe(
  "garage backend errors against a real Garage",
  { skip: skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh") },
  () => {
    let garage: GaragePeer;
    const stores: Store[] = [];
    const open = (overrides: Partial<GaragePeer> & { clockOffsetMs?: number } = {}) => {
      const peer = { ...garage, ...overrides };
      const store = openGarageStore(peer, peer, { net: fast, clockOffsetMs: overrides.clockOffsetMs });
      stores.push(store);
      return store;
    };
    before(async () => (garage = await startGarage({ bucket: "errors" })));
    after(async () => {
      for (const store of stores) await store.close();
      await garage?.stop();
    });

    test("a wrong secret is AuthFailed saying the access key or secret is wrong, on S3 and on K2V, without the secret", async () => {
      const store = open({ secretAccessKey: "0".repeat(64) });
      for (const [name, call] of Object.entries(calls(store))) {
        const { message } = await failure(call, AuthFailed);
        assert.match(message, /the access key or secret is wrong/, name);
        assert.match(message, /bucket "errors"/, name);
        assert.ok(!message.includes("0".repeat(64)), `${name} printed the secret`);
      }
    });

    test("an unknown access key id is AuthFailed too", async () => {
      const store = open({ accessKeyId: "GK000000000000000000000000" });
      for (const [name, call] of Object.entries(calls(store))) {
        assert.match((await failure(call, AuthFailed)).message, /the access key or secret is wrong/, name);
      }
    });

    test("a missing bucket is Unavailable naming the bucket and how to create it", async () => {
      const store = open({ bucket: "nothere" });
      for (const [name, call] of Object.entries(calls(store))) {
        const { message } = await failure(call, Unavailable);
        assert.match(message, /the bucket "nothere" does not exist/, name);
        assert.match(message, /garage bucket create nothere/, name);
      }
    });

    test("a clock more than a day behind: the first call to each API is Unavailable saying so, later ones use the host's time", async () => {
      const store = open({ clockOffsetMs: -25 * 3600_000 });
      const s3 = await failure(() => store.blobs.put("clock", bytes("x")), Unavailable);
      assert.match(s3.message, /S3 at .* refused the request's time stamp: this computer's clock is too far/);
      const k2v = await failure(() => store.rows.insert("p", "clock", bytes("x")), Unavailable);
      assert.match(
        k2v.message,
        /K2V at .* refused the request's time stamp: this computer's clock is too far/,
      );
      await store.blobs.put("clock", bytes("x"));
      await store.rows.insert("p", "clock", bytes("x"));
      assert.equal((await store.rows.read("p", "clock"))!.values.length, 1);
    });

    test("a closed K2V port is Unavailable within a second, naming K2V and how to enable it", async () => {
      const store = open({ k2vEndpoint: `http://127.0.0.1:${await freePort()}` });
      for (const call of [
        () => store.rows.read("p", "s"),
        () => store.rows.poll("p", "s", undefined, 10_000),
      ]) {
        const { message, ms } = await failure(call, Unavailable);
        assert.match(message, /cannot reach Garage K2V at http:\/\/127\.0\.0\.1:\d+: connection refused/);
        assert.match(message, /\[k2v_api\]/);
        assert.ok(ms < 1_000, `took ${ms} ms`);
      }
      // The blobs, on the S3 port, still work.
      await store.blobs.put("still", bytes("fine"));
    });

    test("the s3 backend works on the same Garage bucket without K2V", async () => {
      const store = openS3Store(garage, garage, { net: fast });
      stores.push(store);
      await store.rows.insert("p", "s", bytes("v"));
      assert.deepEqual((await store.rows.read("p", "s"))!.values, [bytes("v")]);
    });
  },
);

describe("silent and failing hosts (fake servers)", () => {
  let silent: Server;
  let silentPort = 0;
  const held: Socket[] = [];
  let failing: HttpServer;
  let failingPort = 0;
  let requests = 0;
  let answer: { status: number; body: string } = { status: 503, body: "" };
  const stores: Store[] = [];

  before(async () => {
    // Accepts connections and never says a word.
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as { port: number }).port;
    failing = createHttpServer((req, res) => {
      requests++;
      req.resume();
      if (answer.body === "stall") {
        // Promises 1,000 bytes, sends 10, then nothing.
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000" });
        res.write("0123456789");
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
    failingPort = (failing.address() as { port: number }).port;
  });
  after(async () => {
    for (const store of stores) await store.close();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    failing.closeAllConnections();
    await new Promise((resolve) => failing.close(resolve));
  });

  const target = (port: number) => ({
    s3Endpoint: `http://127.0.0.1:${port}`,
    k2vEndpoint: `http://127.0.0.1:${port}`,
    region: "garage",
    bucket: "b",
    accessKeyId: "GK1",
    secretAccessKey: "secret",
  });
  const open = (port: number) => {
    const store = openGarageStore(target(port), target(port), { net: fast });
    stores.push(store);
    return store;
  };

  test("a host that accepts and never answers is Unavailable after the attempts' timeouts, not later", async () => {
    const store = open(silentPort);
    // 3 attempts of 500 ms, and at most 10 + 20 ms of backoff between them.
    for (const [name, call] of Object.entries(calls(store))) {
      const { message, ms } = await failure(call, Unavailable);
      assert.match(message, /no answer within 0\.5 s/, name);
      assert.ok(ms >= 1_400 && ms < 2_500, `${name} took ${ms} ms`);
    }
  });

  test("a poll against a silent host ends with null at its own timeout (garage and s3 backends)", async () => {
    const s3 = openS3Store(target(silentPort), target(silentPort), { net: fast });
    stores.push(s3);
    for (const store of [open(silentPort), s3]) {
      const began = Date.now();
      assert.equal(await store.rows.poll("p", "s", undefined, 700), null);
      const took = Date.now() - began;
      assert.ok(took >= 650 && took < 1_500, `took ${took} ms`);
    }
  });

  test("a download whose body stalls after its headers is Unavailable once its time is up", async () => {
    answer = { status: 200, body: "stall" };
    const store = open(failingPort);
    requests = 0;
    const { message, ms } = await failure(() => store.blobs.get("x"), Unavailable);
    assert.match(message, /no answer within 0\.5 s/);
    assert.equal(requests, 3);
    assert.ok(ms < 2_500, `took ${ms} ms`);
  });

  test("HTTP 503 is retried `attempts` times, then Unavailable with the status", async () => {
    answer = { status: 503, body: "" };
    const store = open(failingPort);
    for (const [name, call] of Object.entries(calls(store))) {
      requests = 0;
      const { message } = await failure(call, Unavailable);
      assert.equal(requests, 3, name);
      assert.match(message, /503/, name);
    }
  });

  test("HTTP 403 is not retried and says the credentials are wrong", async () => {
    answer = {
      status: 403,
      body: JSON.stringify({ code: "AccessDenied", message: "Forbidden: Invalid signature" }),
    };
    const store = open(failingPort);
    for (const [name, call] of Object.entries(calls(store))) {
      requests = 0;
      assert.match((await failure(call, AuthFailed)).message, /the access key or secret is wrong/, name);
      assert.equal(requests, 1, name);
    }
  });
});
