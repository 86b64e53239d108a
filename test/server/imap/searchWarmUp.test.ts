/**
 * Issue 11: a selected mailbox's first SEARCH finds its groundwork done (searchWarmUp.ts). After
 * SELECT, at idle moments, the search index's files are opened, their messages placed in the
 * mailbox and their subject pieces opened; the first SUBJECT search then answers from the index
 * exactly as before. A server restarted on an index written earlier, so that nothing is open yet.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestServer } from "../../support/testServer.ts";
import { memoryStore } from "../../../src/storage/memoryStore.ts";
import type { Store } from "../../../src/storage/types.ts";
import { appendRaw, loggedIn, message } from "./scenarioHelpers.ts";

const MESSAGES = 40;

let dir: string;
let store: Store;
let expected: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-search-warm-"));
  store = memoryStore();
  const first = await startTestServer({ store, searchIndexDir: dir, searchIndexDelayMs: 0 });
  try {
    const c = await loggedIn(first);
    for (let i = 0; i < MESSAGES; i++) {
      const subject = i % 3 === 0 ? `Quarterly report ${i}` : `Lunch ${i}`;
      assert.match(await appendRaw(c, "INBOX", message(subject, `body ${i}`)), /OK/);
    }
    await c.command("SELECT INBOX");
    const account = await first.directory.login(first.user, first.password);
    const deadline = Date.now() + 20_000;
    while (account.searchIndex!.progress.indexed < MESSAGES && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await account.searchIndex!.flush();
    assert.equal(account.searchIndex!.sizes().held, MESSAGES, "every message is in a file");
    expected = (await c.command("UID SEARCH SUBJECT quarterly")).find((l) => l.startsWith("* SEARCH"))!;
    assert.equal(expected.split(" ").length - 2, Math.ceil(MESSAGES / 3));
    c.close();
  } finally {
    await first.close();
  }
});

after(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test("after SELECT, the index's files and their subject pieces are opened before any SEARCH", async () => {
  // No background pass in this test: whatever opens a piece is the warm-up.
  const server = await startTestServer({
    store,
    joinExisting: true,
    searchIndexDir: dir,
    searchIndexDelayMs: 60_000,
  });
  const c = await loggedIn(server);
  try {
    const index = (await server.directory.login(server.user, server.password)).searchIndex!;
    assert.equal(index.keptOpen.pieceBytes, 0, "nothing opened before SELECT");
    await c.command("SELECT INBOX");
    const deadline = Date.now() + 10_000;
    while (index.keptOpen.pieceBytes === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const kept = index.keptOpen;
    assert.ok(kept.pieceBytes > 0, "the subject pieces were opened at a lull after SELECT");
    assert.equal(kept.files, index.sizes().files, "every file of the index is open");
    const before = index.answered;
    const answer = await c.command("UID SEARCH SUBJECT quarterly");
    assert.equal(
      answer.find((l) => l.startsWith("* SEARCH")),
      expected,
    );
    assert.equal(index.answered - before, MESSAGES, "answered from the index");
  } finally {
    c.close();
    await server.close();
  }
});
