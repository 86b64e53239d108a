/**
 * Issue 18: a short run of the bench's load tool (bench/load/) against the real server on the
 * embedded store: four clients APPEND, FETCH, STORE, EXPUNGE, SEARCH and log in and out on one
 * mailbox for a few seconds. Every answer is checked against the tool's model, and its watchdog
 * fails the run when any command waits longer than 2 s. Keywords FETCH shows without FLAGS
 * announcing them are issue 14's and counted apart by the tool, not here.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore, type EmbeddedStore } from "../../../src/storage/embedded/index.ts";
import { runLoad } from "../../../bench/load/loadRun.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";

let dir: string;
let store: EmbeddedStore;
let server: TestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-load-"));
  store = await openEmbeddedStore(join(dir, "data"));
  server = await startTestServer({ store, marksDir: join(dir, "marks") });
});

after(async () => {
  await server?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test("four clients for 5 s on the embedded store: no command waits over 2 s, every answer checks out", async () => {
  const lines: string[] = [];
  const result = await runLoad(
    { host: "127.0.0.1", port: server.port, user: server.user, password: server.password },
    {
      clients: 4,
      durationMs: 5_000,
      seed: 18,
      watchdogMs: 2_000,
      windowMs: 1_000,
      log: (l) => lines.push(l),
    },
  );
  const why = `${JSON.stringify(result.errorSamples)}\n${lines.join("\n")}`;
  assert.deepEqual(result.clientFailures, [], why);
  assert.equal(result.checkerErrors, 0, why);
  assert.deepEqual(result.waits, [], `commands waited over 2 s:\n${why}`);
  assert.ok(result.commands > 50, `only ${result.commands} commands in 5 s`);
  assert.ok((result.latency.APPEND?.n ?? 0) > 0 && (result.latency["FETCH-BODY"]?.n ?? 0) > 0, why);
});
