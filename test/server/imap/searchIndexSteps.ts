/**
 * The servers, clients and steps of searchIndex.test.ts (see there), on a worker thread
 * (test/support/inWorker.ts): two servers in one process create promises by the million, and
 * node:test's async hook in the test's own thread cost ~30% more CPU for them. Each test of that
 * file runs one step here, in the file's order, on the state the steps before it left.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RawImap } from "../../support/rawImap.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { memoryStore } from "../../../src/storage/memoryStore.ts";
import type { Store } from "../../../src/storage/types.ts";
import { appendRaw, loggedIn } from "./scenarioHelpers.ts";
import { corpusMessage, queryFor, seeded, WORDS } from "./searchCorpus.ts";
import { propertyRuns } from "../../support/propertyRuns.ts";

const MESSAGES = 120;
// Seeded random queries: 300 in `npm test`, 100 in `npm run test:fast` (test/support/propertyRuns.ts).
const QUERIES = propertyRuns({ full: 300, fast: 100 });

let dir: string;
let store: Store;
let indexed: TestServer;
let scanning: TestServer;
let a: RawImap;
let b: RawImap;

import { workerStepsServe } from "../../support/inWorker.ts";

/**
 * `b` is another computer: it hears of `a`'s writes when `a`'s watch rewrite lands, which after a
 * burst of writes may wait up to 100 ms (sync/bayou.ts, PUBLISH_INTERVAL_MS). NOOP until it has.
 */
async function catchUp(change: RegExp): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await b.command("NOOP")).some((l) => change.test(l))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the other computer never saw ${change}`);
}

workerStepsServe({
  async setUp() {
    dir = await mkdtemp(join(tmpdir(), "agl-search-index-"));
    store = memoryStore();
    indexed = await startTestServer({ store, searchIndexDir: dir, searchIndexDelayMs: 0 });
    scanning = await startTestServer({ store, joinExisting: true });
    a = await loggedIn(indexed);
    const random = seeded(20261205);
    for (let i = 0; i < MESSAGES; i++) {
      const { raw, flags, date } = corpusMessage(random, i);
      const line = await appendRaw(a, "INBOX", raw, flags, date);
      assert.match(line, /OK/, `APPEND ${i}`);
    }
    await a.command("SELECT INBOX");
    b = await loggedIn(scanning);
    await b.command("SELECT INBOX");
    // Every message is in the index before the queries start.
    const account = await indexed.directory.login(indexed.user, indexed.password);
    const deadline = Date.now() + 20_000;
    while (account.searchIndex!.progress.indexed < MESSAGES && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(account.searchIndex!.progress.indexed, MESSAGES);
    // From the segment files, not from memory (the test below covers what waits in memory).
    await account.searchIndex!.flush();
  },
  async queries() {
    const account = await indexed.directory.login(indexed.user, indexed.password);
    const random = seeded(7);
    let nonEmpty = 0;
    for (let q = 0; q < QUERIES; q++) {
      const criteria = queryFor(random);
      const fromIndex = (await a.command(`UID SEARCH ${criteria}`)).filter((l) => l.startsWith("* SEARCH"));
      const answered = account.searchIndex!.answered;
      const fromScan = (await b.command(`UID SEARCH ${criteria}`)).filter((l) => l.startsWith("* SEARCH"));
      assert.deepEqual(fromIndex, fromScan, `UID SEARCH ${criteria}`);
      assert.ok(answered > 0);
      if (fromScan[0] !== "* SEARCH") nonEmpty++;
    }
    // The queries are not all misses: the comparison means something.
    assert.ok(nonEmpty > QUERIES / 4, `${nonEmpty} of ${QUERIES} queries matched something`);
    return `# ${nonEmpty} of ${QUERIES} queries matched; ${WORDS.length} words in the corpus`;
  },
  async expunge() {
    const account = await indexed.directory.login(indexed.user, indexed.password);
    const before = account.searchIndex!.answered;
    await a.command("UID SEARCH BODY zz");
    assert.equal(account.searchIndex!.answered - before, MESSAGES);
    await a.command("STORE 1:5 +FLAGS.SILENT (\\Deleted)");
    await a.command("EXPUNGE");
    // EXPUNGE answers once its op row is stored; the content's deletion, which tells the index, runs
    // after the answer (Mailbox.expunge, contentLater), behind a sync of every other mailbox.
    const deadline = Date.now() + 5000;
    while (account.searchIndex!.progress.indexed !== MESSAGES - 5 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(account.searchIndex!.progress.indexed, MESSAGES - 5);
    const fromIndex = (await a.command("SEARCH TEXT e")).filter((l) => l.startsWith("* SEARCH"));
    await catchUp(/ EXPUNGE/);
    const fromScan = (await b.command("SEARCH TEXT e")).filter((l) => l.startsWith("* SEARCH"));
    assert.deepEqual(fromIndex, fromScan);
  },
  async inMemory() {
    const account = await indexed.directory.login(indexed.user, indexed.password);
    const raw = "Subject: Hello Wörld\r\nFrom: x@example.org\r\n\r\nThe PANGOLIN sleeps.\r\n";
    assert.match(await appendRaw(a, "INBOX", raw), /OK/);
    await a.command("NOOP");
    const deadline = Date.now() + 5000;
    while (account.searchIndex!.progress.indexed < MESSAGES - 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const before = account.searchIndex!.answered;
    const hits = (await a.command("UID SEARCH BODY pangolin SUBJECT wörld")).filter((l) =>
      l.startsWith("* SEARCH"),
    );
    assert.equal(account.searchIndex!.answered - before, MESSAGES - 4);
    await catchUp(/ EXISTS/);
    assert.deepEqual(
      hits,
      (await b.command("UID SEARCH BODY pangolin SUBJECT wörld")).filter((l) => l.startsWith("* SEARCH")),
    );
    assert.notDeepEqual(hits, ["* SEARCH"]);
  },
  async addresses() {
    const account = await indexed.directory.login(indexed.user, indexed.password);
    const raws = [
      'From: "Ann O\'Neil" <ann@example.org>\r\nTo: "Σοφία" <s1@example.net>,\r\n "Jürgen Groß" <jg@example.net>\r\n' +
        'Bcc: Team: "Carol Dünn" <cd@example.com>, x@example.com;\r\nSubject: addresses\r\n\r\nhi\r\n',
      "From: =?UTF-8?Q?=22Ann_O'Neil=22?= <ann@example.org>\r\nTo: bob <bob@example.net>\r\n\r\nhi\r\n",
    ];
    for (const raw of raws) assert.match(await appendRaw(a, "INBOX", raw), /OK/);
    await a.command("NOOP");
    // The scanning computer must have both messages before it is asked (a push reaches another
    // computer a moment later, up to 100 ms on a remote store).
    const status = (await a.command("STATUS INBOX (MESSAGES)")).join(" ");
    const total = Number(/MESSAGES (\d+)/.exec(status)?.[1]);
    let seen = 0;
    for (let i = 0; i < 100 && seen < total; i++) {
      for (const l of await b.command("NOOP"))
        seen = Math.max(seen, Number(/^\* (\d+) EXISTS/.exec(l)?.[1] ?? 0));
      if (seen < total) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen, total, "the scanning computer saw both appends");
    const queries = [
      'FROM "ann o\'neil <ann@"',
      'TO "JÜRGEN GROSS <jg@example.net>"',
      'TO "Jürgen Groß <jg@example.net>"',
      'TO "s1@example.net>, jürgen groß <jg"',
      'BCC "carol dünn <cd@example.com>, x@example.com"',
      'OR TO "bob <bob@" FROM "neil <ann"',
    ];
    const ask = async () => {
      for (const q of queries) {
        const fromIndex = (await a.command(`UID SEARCH ${q}`)).filter((l) => l.startsWith("* SEARCH"));
        const fromScan = (await b.command(`UID SEARCH ${q}`)).filter((l) => l.startsWith("* SEARCH"));
        assert.deepEqual(fromIndex, fromScan, q);
        // Every query but the one with ß against "GROSS" (no case folding turns ß into ss) matches.
        if (!q.includes("GROSS")) assert.notDeepEqual(fromIndex, ["* SEARCH"], q);
      }
    };
    await ask();
    await account.searchIndex!.flush();
    await ask();
  },
  async comeAndGo() {
    const account = await indexed.directory.login(indexed.user, indexed.password);
    const random = seeded(11);
    const uids = async (c: RawImap) =>
      (await c.command("UID SEARCH ALL")).find((l) => l.startsWith("* SEARCH"));
    for (let round = 0; round < 6; round++) {
      // One in, one out; the index writes its files on some rounds only (the rest wait in memory).
      const { raw, flags, date } = corpusMessage(random, 1000 + round);
      assert.match(await appendRaw(a, "INBOX", raw, flags, date), /OK/);
      await a.command(`STORE ${1 + round} +FLAGS.SILENT (\\Deleted)`);
      await a.command("EXPUNGE");
      if (round % 2 === 1) await account.searchIndex!.flush();
      const want = await uids(a);
      for (let i = 0; i < 40 && (await uids(b)) !== want; i++) {
        await b.command("NOOP");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await uids(b), want, "the other computer caught up");
      for (let q = 0; q < 25; q++) {
        const criteria = queryFor(random);
        const fromIndex = (await a.command(`UID SEARCH ${criteria}`)).filter((l) => l.startsWith("* SEARCH"));
        const fromScan = (await b.command(`UID SEARCH ${criteria}`)).filter((l) => l.startsWith("* SEARCH"));
        assert.deepEqual(fromIndex, fromScan, `round ${round}: UID SEARCH ${criteria}`);
      }
    }
  },
  async tearDown() {
    a?.close();
    b?.close();
    await scanning?.close();
    await indexed?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  },
});
