/**
 * A SEARCH that reads bodies (no search index: a second computer's scan) keeps its 16 reads in
 * flight: a slow body read holds back its own lane, not the 15 other messages of a group.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { memoryStore } from "../../../src/storage/memoryStore.ts";
import type { Store } from "../../../src/storage/types.ts";
import { RawImap } from "../../support/rawImap.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { sampleMessage } from "../../mail/mailFixtures.ts";

const SLOW_MS = 1_000;
let server: TestServer | undefined;
after(async () => server?.close());

/** Body GETs take 5 ms, except the 1st, 17th and 33rd asked for once `slow` is on: SLOW_MS. */
function withSlowBodies(inner: Store) {
  const state = { slow: false, gets: 0 };
  const blobs = Object.create(inner.blobs) as Store["blobs"];
  blobs.get = async (key, range) => {
    if (state.slow && key.startsWith("mail/")) {
      const n = state.gets++;
      await new Promise((r) => setTimeout(r, n % 16 === 0 && n < 48 ? SLOW_MS : 5));
    }
    return inner.blobs.get(key, range);
  };
  return { store: { ...inner, blobs }, state };
}

test("SEARCH BODY over 48 messages with three slow reads takes about one slow read, not three", async () => {
  const { store, state } = withSlowBodies(memoryStore());
  server = await startTestServer({ store });
  const c = await RawImap.connect(server.port);
  await c.readLine();
  await c.command(`LOGIN ${server.user} "${server.password}"`);
  await c.command("SELECT INBOX");
  for (let i = 0; i < 48; i++) {
    const bytes = Buffer.from(sampleMessage(i));
    c.write(`A${i} APPEND INBOX {${bytes.length}+}\r\n`);
    c.write(bytes);
    c.write("\r\n");
    await c.until(`A${i}`);
  }
  await c.command("NOOP");
  state.slow = true;
  const began = performance.now();
  const lines = await c.command("SEARCH BODY xylophonequartz");
  const took = performance.now() - began;
  assert.equal(lines[0], "* SEARCH");
  assert.ok(state.gets >= 48, `${state.gets} body reads`);
  // Groups of 16 wait for their slowest: 3 x 1 s. Lanes: ~1 s and the 5 ms reads beside it.
  assert.ok(took < 2 * SLOW_MS, `SEARCH took ${took.toFixed(0)} ms: each group waited for its slow read`);
  c.close();
});
