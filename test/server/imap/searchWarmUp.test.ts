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
import { warmSearch } from "../../../src/server/imap/commands/searchWarmUp.ts";
import type { Session } from "../../../src/server/imap/session/session.ts";
import { SelectedView } from "../../../src/server/imap/session/selectedView.ts";
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

test("one warm-up per mailbox at a time, and one that finds no quiet moment gives up", async () => {
  const server = await startTestServer({
    store,
    joinExisting: true,
    searchIndexDir: dir,
    searchIndexDelayMs: 60_000,
  });
  let endWork = () => {};
  try {
    const account = await server.directory.login(server.user, server.password);
    const { mailbox } = await account.mailboxOpened("INBOX");
    // Only what warmSearch reads of a session: its account and the mailbox it has selected.
    const sessionOn = () =>
      ({ account, selected: { mailbox, view: new SelectedView(mailbox.index) } }) as unknown as Session;
    // A client command that never ends: no quiet moment comes.
    void account.messages.activity.track(new Promise<void>((r) => (endWork = r)));
    let firstEnded = false;
    const first = warmSearch(sessionOn(), 300).then(() => (firstEnded = true));
    const t0 = performance.now();
    await warmSearch(sessionOn()); // the same mailbox: nothing more to do
    assert.equal(firstEnded, false, "the second returned while the first still waits");
    assert.ok(performance.now() - t0 < 250, "the second did not wait");
    const ended = await Promise.race([
      first,
      new Promise<false>((r) => setTimeout(() => r(false), 5_000).unref()),
    ]);
    assert.equal(ended, true, "the first gave up");
    assert.ok(performance.now() - t0 >= 250, "the first waited for a quiet moment until it gave up");
    assert.equal(account.searchIndex!.keptOpen.pieceBytes, 0, "and opened nothing");
  } finally {
    endWork();
    await server.close();
  }
});
