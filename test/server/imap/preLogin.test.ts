/**
 * What a client that has not logged in can do to the server (issue 12, "Before login"): each
 * attack runs against the real server, and each test fails without its defence.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
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

  test("the owner logs in within 1 s while 6 other connections hammer wrong passwords", async () => {
    // The production delays (500 ms doubling), capped at 2 s so that the hammers stop soon.
    server = await startTestServer({ loginThrottle: { baseDelayMs: 500, maxDelayMs: 2000 } });
    const owner = await connected(server);
    // Thunderbird's first connection unlocked the account; its next ones log in again.
    assert.match(tagged(await owner.command(`LOGIN ${server.user} "${server.password}"`)), /^OK /);
    const stop = { now: false };
    const hammers = [0, 1, 2, 3, 4, 5].map((n) => hammer(server, stop, n));
    try {
      await new Promise((r) => setTimeout(r, 2000)); // the failures' delays are seconds long by now
      for (let i = 0; i < 3; i++) {
        const c = await connected(server);
        const started = performance.now();
        const r = await c.command(`LOGIN ${server.user} "${server.password}"`);
        const took = performance.now() - started;
        c.close();
        assert.match(tagged(r), /^OK /);
        assert.ok(took < 1000, `the owner's login took ${Math.round(took)} ms`);
      }
    } finally {
      stop.now = true;
      await Promise.all(hammers);
      owner.close();
    }
  });
});
