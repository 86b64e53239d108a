/**
 * What a client that has not logged in can do to the server (issue 12, "Before login"): each
 * attack runs against the real server, and each test fails without its defence.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { heldDelays } from "../../support/heldDelays.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { RawImap } from "../../support/rawImap.ts";
import { connected, tagged } from "./scenarioHelpers.ts";

/** Logs in with wrong passwords, one after another, until `stop.now`. */
async function hammer(server: TestServer, stop: { now: boolean }, n: number): Promise<number> {
  const c = await connected(server);
  let tries = 0;
  try {
    while (!stop.now) {
      const r = await c.command(`LOGIN ${server.user} "guess ${n} ${tries++}"`, 30_000);
      assert.match(tagged(r), /^NO /);
    }
  } finally {
    c.close();
  }
  return tries;
}

describe("wrong passwords on other connections", () => {
  let server: TestServer;
  after(() => server?.close());

  test("the owner is served while 6 other connections wait out their wrong passwords' delays", async () => {
    // The production delays (500 ms doubling, capped at 2 s), held by the test: every guesser sits
    // in its delay while the owner logs in, so the test asserts an order (served while they are
    // held), not wall time a loaded machine stretches. A delay that held up anyone but the failing
    // caller holds the owner's LOGIN until its 10 s timeout.
    const delays = heldDelays();
    server = await startTestServer({
      loginThrottle: { baseDelayMs: 500, maxDelayMs: 2000, wait: delays.wait },
    });
    const owner = await connected(server);
    // Thunderbird's first connection unlocked the account; its next ones log in again.
    assert.match(tagged(await owner.command(`LOGIN ${server.user} "${server.password}"`)), /^OK /);
    const stop = { now: false };
    const hammers = [0, 1, 2, 3, 4, 5].map((n) => hammer(server, stop, n));
    try {
      // Past maxPendingUnlocks (4) a guess is refused at once and sent again: all six end up waiting.
      await delays.until(6);
      for (let i = 0; i < 3; i++) {
        const c = await connected(server);
        const r = await c.command(`LOGIN ${server.user} "${server.password}"`, 10_000);
        c.close();
        assert.match(tagged(r), /^OK /);
      }
      assert.equal(delays.asked.length, 6, "a guesser's delay ended, or the owner's login asked for one");
    } finally {
      stop.now = true;
      delays.releaseAll();
      await Promise.all(hammers);
      owner.close();
    }
  });
});

/** Every line the server sends until it closes the connection (bounded in time). */
async function linesUntilClosed(c: RawImap, timeoutMs: number): Promise<string[]> {
  const lines: string[] = [];
  const deadline = Date.now() + timeoutMs;
  // Lines already received are read even when the socket has closed since.
  while (Date.now() < deadline) {
    try {
      lines.push(await c.readLine(Math.max(1, deadline - Date.now())));
    } catch {
      break;
    }
  }
  return lines;
}

describe("connection caps", () => {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  test("past the cap per address and the total cap, a connection gets BYE [LIMIT] as its greeting; a closed one frees its place", async () => {
    const server = await startTestServer({ limits: { maxConnections: 5, maxConnectionsPerAddress: 3 } });
    servers.push(server);
    const open: RawImap[] = [];
    const greet = async (from: string) => {
      const c = await RawImap.connect(server.port, "127.0.0.1", from);
      open.push(c);
      return c.readLine();
    };
    try {
      for (let i = 0; i < 3; i++) assert.match(await greet("127.0.0.1"), /^\* OK /);
      assert.match(
        await greet("127.0.0.1"),
        /^\* BYE \[LIMIT\] too many connections from 127\.0\.0\.1 \(at most 3\)/,
      );
      for (let i = 0; i < 2; i++) assert.match(await greet("127.0.0.2"), /^\* OK /);
      assert.match(await greet("127.0.0.3"), /^\* BYE \[LIMIT\] too many connections \(at most 5\)/);
      assert.ok(server.logs.some((l) => /^warn refused a connection: too many connections/.test(l)));
      open[0]!.close();
      await new Promise((r) => setTimeout(r, 100));
      assert.match(await greet("127.0.0.1"), /^\* OK /);
    } finally {
      for (const c of open) c.close();
    }
  });

  test("by default, 20 connections from one address are served and the 21st is refused", async () => {
    const server = await startTestServer();
    servers.push(server);
    const open: RawImap[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        open.push(await connected(server));
      }
      const extra = await RawImap.connect(server.port);
      open.push(extra);
      assert.match(await extra.readLine(), /^\* BYE \[LIMIT\] /);
      assert.ok(
        await linesUntilClosed(extra, 2000).then(() => extra.isClosed),
        "the refused socket stays open",
      );
      // The ones served still work.
      assert.match(tagged(await open[19]!.command("NOOP")), /^OK /);
    } finally {
      for (const c of open) c.close();
    }
  });
});

describe("idle before login", () => {
  let server: TestServer;
  after(() => server?.close());

  test("a connection that does not log in is closed after the short idle timeout; a logged-in one stays", async () => {
    const timeoutMs = 700;
    server = await startTestServer({ limits: { loginIdleTimeoutMs: timeoutMs } });
    const silent = await connected(server);
    const chatty = await connected(server); // keeps sending, so it is not idle, but never logs in
    const owner = await connected(server);
    assert.match(tagged(await owner.command(`LOGIN ${server.user} "${server.password}"`)), /^OK /);
    // The chatty one sends a NOOP every 50 ms, so that a loaded machine (a slow answer, a late
    // timer) still leaves it well inside its 700 ms; it keeps on past 1.5 idle timeouts, until the
    // silent one is closed (bounded).
    const started = Date.now();
    while (Date.now() - started < 1.5 * timeoutMs || (!silent.isClosed && Date.now() - started < 5000)) {
      assert.match(tagged(await chatty.command("NOOP")), /^OK /);
      await new Promise((r) => setTimeout(r, 50));
    }
    const said = await linesUntilClosed(silent, 2000);
    assert.ok(silent.isClosed, "the silent connection is still open");
    assert.match(said.join("\n"), /^\* BYE autologout: no login after 1 s without input$/m);
    assert.match(tagged(await chatty.command("NOOP")), /^OK /);
    assert.match(tagged(await owner.command("NOOP")), /^OK /, "the logged-in session was closed");
    chatty.close();
    owner.close();
  });
});

describe("a key root with absurd Argon2id parameters", () => {
  let server: TestServer;
  after(() => server?.close());

  test("LOGIN is answered NO [CORRUPTION] within 1 s, and the server keeps serving", async () => {
    server = await startTestServer();
    const root = JSON.parse(new TextDecoder().decode(await server.store.blobs.get("keys/root"))) as {
      entries: { opslimit: number; memlimit: number }[];
    };
    // The host's edit: 2^32-1 passes hung the process before the bounds (a 1 TiB memlimit kills it).
    root.entries[0]!.opslimit = 2 ** 32 - 1;
    await server.store.blobs.put("keys/root", new TextEncoder().encode(JSON.stringify(root)));
    const c = await connected(server);
    const started = performance.now();
    const r = await c.command(`LOGIN ${server.user} "${server.password}"`, 5000);
    assert.ok(performance.now() - started < 1000, `answered after ${performance.now() - started} ms`);
    assert.match(tagged(r), /^NO \[CORRUPTION\] .*Argon2id parameters out of bounds.*damaged or replaced/);
    assert.match(tagged(await c.command("NOOP")), /^OK /);
    c.close();
  });
});
