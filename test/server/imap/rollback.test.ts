/**
 * Issue 12 through the IMAP server: a storage host that drops the op row of a MOVE, restores an
 * older copy of the store, or serves an older mailbox list is refused by a restarted server that
 * kept its marks: the client gets NO [CORRUPTION], the server logs why, `doctor` reports it, and
 * nothing is written over it (no UID handed out twice). A server with no marks (a fresh computer)
 * cannot tell, which is what the same attacks do without the defence. The same for an older record
 * of filed deliveries served with a filed delivery put back in the queue. On memory, and on a real
 * Garage when run with AGL_IMAP_BACKEND=garage (onGarage.test.ts does).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rollbackCheck } from "../../../src/cli/commands/doctor.ts";
import { MaliciousHost as ForgingHost } from "../../support/forgingHost.ts";
import { maliciousHost, type MaliciousHost } from "../../support/maliciousHost.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { appendRaw, loggedIn, message, openBaseStore, tagged } from "./scenarioHelpers.ts";

const folders: string[] = [];
const servers: TestServer[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of servers) await s.close().catch(() => undefined);
  for (const cleanup of cleanups) await cleanup();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** A host with the powers of issue 12 in front of the scenario store (memory, or Garage). */
async function newHost(): Promise<MaliciousHost> {
  const base = await openBaseStore();
  cleanups.push(base.cleanup);
  return maliciousHost(base.store);
}

async function marksFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agl-imap-marks-"));
  folders.push(dir);
  return dir;
}

async function serve(
  host: MaliciousHost,
  marksDir: string,
  joinExisting: boolean,
  incoming?: { intervalMs: number },
): Promise<TestServer> {
  const server = await startTestServer({
    store: host.store,
    marksDir,
    joinExisting,
    ...(incoming ? { incoming } : {}),
  });
  servers.push(server);
  return server;
}

/** The op rows the host received, in order (not the watch rows). */
function opInserts(host: MaliciousHost): { pk: string; sk: string }[] {
  return host.inserts.filter((i) => i.pk.startsWith("index/") && i.sk !== "watch");
}

test("a MOVE whose add row the host drops: after a restart the client gets NO [CORRUPTION], not a vanished message", async () => {
  const marksDir = await marksFolder();
  const host = await newHost();
  const first = await serve(host, marksDir, false);
  const c = await loggedIn(first);
  await appendRaw(c, "INBOX", message("wire", "please wire 10000 EUR"));
  await appendRaw(c, "INBOX", message("lunch", "see you at noon"));
  await c.command("SELECT INBOX");
  assert.match(tagged(await c.command("UID MOVE 1 Archive")), /^OK/);
  const [addInArchive, expungeInInbox] = opInserts(host).slice(-2);
  assert.notEqual(addInArchive!.pk, expungeInInbox!.pk);
  c.close();
  await first.close();

  await host.dropRow(addInArchive!.pk, addInArchive!.sk);
  const rowsBefore = (await host.store.rows.readRange(addInArchive!.pk, { end: "g" })).items.length;
  const second = await serve(host, marksDir, true);
  const c2 = await loggedIn(second);
  const select = tagged(await c2.command("SELECT Archive"));
  assert.match(select, /^NO \[CORRUPTION\] storage went back at index\/[0-9a-f]+: op row [0-9a-f]+ vanished/);
  assert.match(tagged(await c2.command("STATUS Archive (MESSAGES UIDNEXT)")), /^NO \[CORRUPTION\]/);
  assert.match(await appendRaw(c2, "Archive", message("more", "x")), /NO \[CORRUPTION\]/);
  assert.equal(
    (await host.store.rows.readRange(addInArchive!.pk, { end: "g" })).items.length,
    rowsBefore,
    "no op is written over the rolled-back index",
  );
  // The rest of the account still works.
  assert.match(tagged(await c2.command("SELECT INBOX")), /^OK/);
  c2.close();
  assert.ok(
    second.logs.some((l) => /^error storage went back at index\/.* vanished .* NO \[CORRUPTION\]/.test(l)),
    second.logs.join("\n"),
  );
  const doctor = await rollbackCheck(marksDir);
  assert.equal(doctor.status, "fail");
  assert.match(doctor.detail, /vanished without a checkpoint folding it/);

  // A computer with no marks: the moved message is silently gone from every mailbox.
  const fresh = await serve(host, await marksFolder(), true);
  const c3 = await loggedIn(fresh);
  assert.match((await c3.command("SELECT Archive")).join("\n"), /\* 0 EXISTS/);
  assert.match((await c3.command("SELECT INBOX")).join("\n"), /\* 1 EXISTS/);
  c3.close();
});

test("an older copy of the whole store: a restarted server refuses it, and no UID is handed out twice", async () => {
  const marksDir = await marksFolder();
  const host = await newHost();
  const first = await serve(host, marksDir, false);
  const c = await loggedIn(first);
  await appendRaw(c, "INBOX", message("one", "1"));
  await appendRaw(c, "INBOX", message("two", "2"));
  const old = await host.snapshot();
  const third = await appendRaw(c, "INBOX", message("three", "3"));
  const [, uidvalidity, uid] = /APPENDUID (\d+) (\d+)/.exec(third)!;
  assert.equal(uid, "3");
  c.close();
  await first.close();

  await host.restore(old);
  const second = await serve(host, marksDir, true);
  const c2 = await loggedIn(second);
  assert.match(tagged(await c2.command("SELECT INBOX")), /^NO \[CORRUPTION\] storage went back at index\//);
  const writes = host.writes;
  const append = await appendRaw(c2, "INBOX", message("four", "4"));
  assert.match(append, /NO \[CORRUPTION\]/);
  assert.ok(!/APPENDUID/.test(append));
  c2.close();
  // The body and meta of the refused APPEND were stored before its op was refused (two unreachable
  // objects); no op row and no checkpoint were.
  assert.ok(host.writes - writes <= 2, `${host.writes - writes} writes`);
  assert.equal((await rollbackCheck(marksDir)).status, "fail");

  // Without marks, the older copy is served as if current: UID 3 goes to another message under the
  // same UIDVALIDITY, which is what the marks prevent.
  const fresh = await serve(host, await marksFolder(), true);
  const c3 = await loggedIn(fresh);
  const reused = await appendRaw(c3, "INBOX", message("other", "not three"));
  assert.match(reused, new RegExp(`APPENDUID ${uidvalidity} 3\\]`));
  c3.close();
});

test("an older mailbox list row: LIST and SELECT get NO [CORRUPTION] until the host serves the newer one again", async () => {
  const marksDir = await marksFolder();
  const host = await newHost();
  const first = await serve(host, marksDir, false);
  const c = await loggedIn(first);
  const before = await host.store.rows.read("mailboxes", "list");
  assert.match(tagged(await c.command("CREATE Projects")), /^OK/);
  host.pinRow("mailboxes", "list", before);
  assert.match(
    tagged(await c.command('LIST "" "*"')),
    /^NO \[CORRUPTION\] storage went back at mailboxes\/list/,
  );
  assert.match(tagged(await c.command("SELECT Projects")), /^NO \[CORRUPTION\]/);
  assert.match(tagged(await c.command("CREATE Other")), /^NO \[CORRUPTION\]/);
  c.close();
  await first.close();

  const second = await serve(host, marksDir, true);
  const c2 = await loggedIn(second);
  assert.match(tagged(await c2.command('LIST "" "*"')), /^NO \[CORRUPTION\]/);
  host.unpinRow("mailboxes", "list");
  const list = await c2.command('LIST "" "*"');
  assert.match(tagged(list), /^OK/);
  assert.ok(list.some((l) => l.includes('"Projects"') || l.endsWith(" Projects")));
  assert.ok(!list.some((l) => l.includes("Other")), "the refused CREATE wrote nothing");
  assert.equal((await rollbackCheck(marksDir)).status, "pass", "the alarm clears once storage is right");
  c2.close();
});

/** Resolves once `done()` holds, polling; fails after `ms`. */
async function eventually(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  for (const until = Date.now() + ms; !done();) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test("an older record of filed deliveries and a filed delivery put back: a restarted server files nothing; without marks it files it twice", async () => {
  const marksDir = await marksFolder();
  const host = await newHost();
  const forging = new ForgingHost(host.store);
  const mover = { intervalMs: 100 };
  const first = await serve(host, marksDir, false, mover);
  const older = await host.store.rows.read("incoming", "filed");
  const raw = new TextEncoder().encode(message("wire", "please wire 10000 EUR"));
  const key = await forging.forge({ mailbox: "INBOX", internalDate: Date.UTC(2024, 0, 1), raw });
  await forging.copyQueue();
  const c = await loggedIn(first);
  await eventually("the first server files the delivery", () => first.mover!.filed === 1);
  c.close();
  await first.close();

  host.pinRow("incoming", "filed", older);
  await forging.putBack(key);
  const second = await serve(host, marksDir, true, mover);
  const c2 = await loggedIn(second);
  const refused = (l: string) => /^error storage went back at incoming\/filed/.test(l);
  await eventually(
    "the restarted server refuses the record, or files the replay",
    () => second.logs.some(refused) || second.mover!.filed > 0,
  );
  assert.equal(second.mover!.filed, 0, "the replay was filed again");
  assert.ok(second.logs.some(refused), second.logs.join("\n"));
  assert.match((await c2.command("SELECT INBOX")).join("\n"), /\* 1 EXISTS/);
  c2.close();
  assert.deepEqual((await host.store.blobs.list("incoming/")).keys, [key], "left in the queue");
  const doctor = await rollbackCheck(marksDir);
  assert.equal(doctor.status, "fail");
  assert.match(doctor.detail, /incoming\/filed/);
  await second.close();

  // A computer with no marks takes the older record as current and files the same mail again.
  const fresh = await serve(host, await marksFolder(), true, mover);
  const c3 = await loggedIn(fresh);
  await eventually("a server without marks files the replay", () => fresh.mover!.filed === 1);
  assert.match((await c3.command("SELECT INBOX")).join("\n"), /\* 2 EXISTS/);
  c3.close();
});
