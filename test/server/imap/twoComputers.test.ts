/**
 * Two computers on one bucket: two servers, each with its own unlocked account and mailbox state,
 * on the same storage. What one client does reaches the other's client: new mail in IDLE, flags at
 * NOOP, expunges, and new mailboxes in LIST, with the same UIDs on both sides.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Store } from "../../../src/storage/types.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";
import { after, before } from "node:test";

let shared: Store | undefined;
const first = useServer({
  wrap: (base) => {
    shared = base;
    return base;
  },
});
let second: TestServer;

before(async () => {
  await first.ready();
  second = await startTestServer({ store: shared!, joinExisting: true });
});
after(async () => {
  await second?.close();
});

test(
  "a message appended on one computer wakes IDLE on the other, with the same UID",
  { timeout: 60_000 },
  async () => {
    const a = await loggedIn(first.server());
    const b = await loggedIn(second);
    await a.command("CREATE Shared");
    await b.command("SELECT Shared");
    b.write("I1 IDLE\r\n");
    assert.equal(await b.readLine(), "+ idling");
    const answer = await appendRaw(a, "Shared", message("from A", "hello B"));
    const uid = /APPENDUID \d+ (\d+)/.exec(answer)![1];
    assert.equal(await b.readLine(40_000), "* 1 EXISTS");
    assert.equal(await b.readLine(), "* 1 RECENT");
    b.write("DONE\r\n");
    assert.equal(await b.readLine(), "I1 OK IDLE terminated");
    const f = await b.command("FETCH 1 (UID BODY.PEEK[TEXT])");
    assert.equal(f[0], `* 1 FETCH (UID ${uid} BODY[TEXT] {9}\r\nhello B\r\n)`);
    a.close();
    b.close();
  },
);

test(
  "flags and expunges made on one computer reach the other at NOOP; LIST sees new mailboxes",
  { timeout: 60_000 },
  async () => {
    const a = await loggedIn(first.server());
    const b = await loggedIn(second);
    await a.command("SELECT Shared");
    await b.command("SELECT Shared");
    await appendRaw(a, "Shared", message("second", "two"));
    await a.command("STORE 1 +FLAGS.SILENT (\\Flagged \\Deleted)");
    let seen = "";
    for (let i = 0; i < 20 && !seen.includes("\\Flagged"); i++) {
      seen = (await b.command("NOOP")).join("\n");
      if (!seen.includes("\\Flagged")) await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(seen, /\* 1 FETCH \(UID \d+ FLAGS \(\\Deleted \\Flagged\)\)/);
    assert.match(seen, /\* 2 EXISTS/);
    await a.command("EXPUNGE");
    let gone = "";
    for (let i = 0; i < 20 && !gone.includes("EXPUNGE"); i++) {
      gone = (await b.command("NOOP")).join("\n");
      if (!gone.includes("EXPUNGE")) await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(gone, /\* 1 EXPUNGE/);
    await a.command("CREATE Made-on-A");
    assert.ok((await b.command('LIST "" "Made-on-A"')).includes('* LIST (\\HasNoChildren) "/" "Made-on-A"'));
    assert.match(tagged(await b.command("STATUS Made-on-A (MESSAGES)")), /^OK /);
    a.close();
    b.close();
  },
);

test(
  "RFC 3501 §2.3.2 per computer: a new message is \\Recent to one session on each computer",
  { timeout: 60_000 },
  async () => {
    const a1 = await loggedIn(first.server());
    const b1 = await loggedIn(second);
    await a1.command("CREATE RecentBoth");
    await a1.command("SELECT RecentBoth");
    await b1.command("SELECT RecentBoth");
    await appendRaw(a1, "RecentBoth", message("recent", "new"));
    // a1 heard EXISTS and RECENT with its APPEND's answer.
    assert.equal((await a1.command("FETCH 1 (FLAGS)"))[0], "* 1 FETCH (FLAGS (\\Recent))");
    let seen: string[] = [];
    for (let i = 0; i < 40 && !seen.includes("* 1 EXISTS"); i++) {
      seen = await b1.command("NOOP");
      if (!seen.includes("* 1 EXISTS")) await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(seen.slice(0, 2), ["* 1 EXISTS", "* 1 RECENT"]);
    for (const server of [first.server(), second]) {
      const later = await loggedIn(server);
      assert.ok((await later.command("SELECT RecentBoth")).includes("* 0 RECENT"));
      later.close();
    }
    a1.close();
    b1.close();
  },
);

/** UID -> Subject of every message in `mailbox`, as `c` sees it after a fresh SELECT. */
async function subjectsByUid(c: Awaited<ReturnType<typeof loggedIn>>, mailbox: string) {
  await c.command(`SELECT ${mailbox}`);
  const lines = await c.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
  const out = new Map<number, string>();
  for (const line of lines) {
    const m = /^\* \d+ FETCH \(UID (\d+) .*\r\nSubject: ([^\r]*)/s.exec(line);
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

test(
  "two computers appending at once to one mailbox converge with distinct UIDs",
  { timeout: 120_000 },
  async () => {
    const a = await loggedIn(first.server());
    const b = await loggedIn(second);
    await a.command("CREATE Both");
    const each = 12;
    const appendAll = async (c: typeof a, who: string) => {
      for (let i = 0; i < each; i++) {
        assert.match(await appendRaw(c, "Both", message(`${who}-${i}`, `from ${who}`)), /OK \[APPENDUID/);
      }
    };
    await Promise.all([appendAll(a, "A"), appendAll(b, "B")]);
    // Each computer learns of the other's rows from the watch row, rewritten after the answers.
    let onA = new Map<number, string>();
    let onB = new Map<number, string>();
    for (let round = 0; round < 40; round++) {
      onA = await subjectsByUid(a, "Both");
      onB = await subjectsByUid(b, "Both");
      if (onA.size === 2 * each && onB.size === 2 * each) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(onA.size, 2 * each, `computer A sees ${onA.size} messages`);
    assert.deepEqual([...onB].sort(), [...onA].sort(), "both computers give every message the same UID");
    const subjects = new Set(onA.values());
    for (const who of ["A", "B"])
      for (let i = 0; i < each; i++) assert.ok(subjects.has(`${who}-${i}`), `${who}-${i} is there once`);
    a.close();
    b.close();
  },
);

test(
  "an APPEND to a name the other computer just renamed and made again lands in the new mailbox of that name",
  { timeout: 60_000 },
  async () => {
    const a = await loggedIn(first.server());
    const b = await loggedIn(second);
    await a.command("CREATE Drafts-Old");
    // A opens the mailbox, so its list and the mailbox are cached on A.
    assert.match(await appendRaw(a, "Drafts-Old", message("first", "one")), /OK \[APPENDUID/);
    await b.command("RENAME Drafts-Old Drafts-Renamed");
    await b.command("CREATE Drafts-Old");
    assert.match(await appendRaw(a, "Drafts-Old", message("second", "two")), /OK \[APPENDUID/);
    const count = async (name: string) =>
      Number(/MESSAGES (\d+)/.exec((await a.command(`STATUS ${name} (MESSAGES)`)).join(" "))?.[1]);
    assert.equal(await count("Drafts-Renamed"), 1, "the renamed mailbox keeps only the first message");
    assert.equal(await count("Drafts-Old"), 1, "the second message is in the mailbox that has the name now");
    a.close();
    b.close();
  },
);
