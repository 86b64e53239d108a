/**
 * Issue 12, at the mail layer: each computer keeps sealed marks of what it saw (mail/localMarks.ts)
 * in its own folder, and an account opened with them refuses a mailbox list or a mailbox index
 * that the storage host served older than that, after a restart too; the refusal leaves an alarm
 * for `doctor`, which a later good read clears.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { open, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { RolledBack } from "../../src/errors.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { openMarkBook } from "../../src/mail/localMarks.ts";
import { JOURNAL_NAME } from "../../src/mail/markJournal.ts";
import { listRollbackAlarms } from "../../src/mail/rollbackAlarms.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Log } from "../../src/log.ts";
import { tempDirs } from "../support/tempDirs.ts";
import { maliciousHost } from "../support/maliciousHost.ts";
import { sampleMessage } from "./mailFixtures.ts";

before(async () => {
  await loadSodium();
});
const tempDir = tempDirs("agl-marks-");

function collecting(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: (level, message) => lines.push(`${level} ${message}`), lines };
}

const PASSWORD = "marks test password";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const account of await readdir(dir)) {
    for (const f of await readdir(join(dir, account))) out.push(join(dir, account, f));
  }
  return out;
}

test("marks are sealed in a journal in a private folder per account, and survive a reopen", async () => {
  const dir = await tempDir();
  const { log, lines } = collecting();
  const masterKey = new Uint8Array(32).fill(7);
  const book = openMarkBook({ marksDir: dir, key: masterKey, accountName: "a1", log });
  await book.save("index/abc", { unfolded: ["0000000000010000000000000000"], secretWord: "Quixotrellis" });
  const [file] = await filesUnder(dir);
  assert.equal(basename(file!), JOURNAL_NAME);
  const bytes = await readFile(file!);
  assert.ok(!bytes.toString("latin1").includes("Quixotrellis"), "the mark is sealed");
  assert.ok(!bytes.toString("latin1").includes("index/abc"), "the path is not in clear");
  assert.equal((await stat(file!)).mode & 0o777, 0o600);
  assert.equal((await stat(join(file!, ".."))).mode & 0o777, 0o700);
  const reopened = openMarkBook({ marksDir: dir, key: masterKey, accountName: "a1", log });
  assert.deepEqual(await reopened.load("index/abc"), {
    unfolded: ["0000000000010000000000000000"],
    secretWord: "Quixotrellis",
  });
  assert.equal(await reopened.load("index/other"), undefined);

  // Another account's marks live in another folder; a damaged mark is a warning, not a lock-out.
  const other = openMarkBook({ marksDir: dir, key: new Uint8Array(32).fill(8), accountName: "a2", log });
  assert.equal(await other.load("index/abc"), undefined);
  await other.save("index/abc", { unfolded: [] });
  // Whole records sealed under another key (the other account's journal copied here) do not open.
  await replaceWith(file!, await readFile(join(dir, "a2", JOURNAL_NAME)));
  const copied = openMarkBook({ marksDir: dir, key: masterKey, accountName: "a1", log });
  assert.equal(await copied.load("index/abc"), undefined);
  assert.match(lines.join("\n"), /does not open/);
  // A record cut short (a crash during its write, never acknowledged) is dropped at the open.
  await replaceWith(file!, bytes.subarray(0, bytes.length - 1));
  const torn = openMarkBook({ marksDir: dir, key: masterKey, accountName: "a1", log });
  assert.equal(await torn.load("index/abc"), undefined);
  assert.match(lines.join("\n"), /do not form a whole record/);
});

/** Puts `bytes` at `file` as a new file, as another process would find it after a restart. */
async function replaceWith(file: string, bytes: Uint8Array): Promise<void> {
  await writeFile(`${file}.new`, bytes, { mode: 0o600 });
  await rename(`${file}.new`, file);
}

test("a mailbox list served older than this computer saw is refused, after a restart too, and leaves an alarm", async () => {
  const marksDir = await tempDir();
  const host = maliciousHost(memoryStore());
  const { log, lines } = collecting();
  const account = await createAccount(host.store, {
    user: "u",
    password: PASSWORD,
    kdf: TEST_KDF,
    marksDir,
    log,
  });
  const before = await host.store.rows.read("mailboxes", "list");
  await account.createMailbox("Projects");
  await account.close();

  host.pinRow("mailboxes", "list", before);
  const reopened = await openAccount(host.store, PASSWORD, { marksDir, log });
  await assert.rejects(reopened.listMailboxes(), (err: Error) => {
    assert.ok(err instanceof RolledBack);
    assert.match(
      err.message,
      /mailbox list is older than the one this computer saw: 1 mailbox name this computer saw is missing/,
    );
    assert.ok(!err.message.includes("Projects"), "no mailbox name in the message (it is logged)");
    return true;
  });
  const writes = host.writes;
  await assert.rejects(reopened.createMailbox("Other"), RolledBack);
  assert.equal(host.writes, writes, "nothing is written over it");
  assert.match(lines.join("\n"), /^error storage went back at mailboxes\/list: .*delete .* to accept it/m);
  const alarms = await listRollbackAlarms(marksDir);
  assert.equal(alarms.length, 1);
  assert.equal(alarms[0]!.path, "mailboxes/list");

  // The host serves the right row again: the next read passes and clears the alarm.
  host.unpinRow("mailboxes", "list");
  await reopened.listMailboxes();
  assert.deepEqual(await listRollbackAlarms(marksDir), []);
  await reopened.close();

  // A computer with no marks cannot tell (docs/crypto.md).
  host.pinRow("mailboxes", "list", before);
  const fresh = await openAccount(host.store, PASSWORD, { marksDir: await tempDir(), log });
  assert.ok(!(await fresh.listMailboxes()).mailboxes.some((m) => m.name === "Projects"));
  await fresh.close();
});

test("a stamp after every stamp read: a computer whose clock is behind does not move a name back", async () => {
  const store = memoryStore();
  const account = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  // Another computer, its clock an hour ahead, wrote the list last.
  const ahead = await openAccount(store, PASSWORD);
  const realNow = Date.now;
  Date.now = () => realNow() + 3_600_000;
  try {
    await ahead.subscribe("Sent", false);
  } finally {
    Date.now = realNow;
  }
  const stampAhead = (await ahead.mailboxList.load()).get("Sent")!.ts;
  await account.subscribe("Sent", true);
  const entry = (await account.mailboxList.load()).get("Sent")!;
  assert.ok(entry.ts > stampAhead, "our change sorts after what we read");
  assert.equal(entry.subscribed, true, "and wins");
  await ahead.listMailboxes(); // its marks saw the hour-ahead stamp: no false alarm
  await account.close();
  await ahead.close();
});

async function mailboxIndexPath(account: Account, name: string): Promise<string> {
  return `index/${(await account.listMailboxes()).mailboxes.find((m) => m.name === name)!.id}`;
}

test("a moved message whose add row the host drops is refused after a restart, not lost quietly", async () => {
  const marksDir = await tempDir();
  const host = maliciousHost(memoryStore());
  const { log, lines } = collecting();
  const account = await createAccount(host.store, {
    user: "u",
    password: PASSWORD,
    kdf: TEST_KDF,
    marksDir,
    log,
  });
  const inbox = await account.mailbox("INBOX");
  const { mailId } = await inbox.append(sampleMessage(1), [], Date.now());
  const archive = await account.mailbox("Archive");
  await inbox.moveTo(archive, [mailId]);
  const archivePath = await mailboxIndexPath(account, "Archive");
  await account.close();

  const intact = await host.snapshot();
  const [addRow] = (await host.store.rows.readRange(archivePath, { end: "g" })).items;
  await host.dropRow(archivePath, addRow!.sk);
  const reopened = await openAccount(host.store, PASSWORD, { marksDir, log });
  await assert.rejects(
    reopened.mailbox("Archive"),
    /storage went back at index\/.*vanished without a checkpoint folding it/,
  );
  assert.ok((await reopened.mailbox("INBOX")).index.uids.length === 0, "the other mailbox still opens");
  assert.match(lines.join("\n"), /error storage went back at index\//);
  assert.equal((await listRollbackAlarms(marksDir))[0]!.path, archivePath);
  await reopened.close();

  // The host puts the row back: the mailbox opens with the message, and the alarm is gone.
  await host.restore(intact);
  const again = await openAccount(host.store, PASSWORD, { marksDir, log });
  assert.ok((await again.mailbox("Archive")).index.byId.has(mailId));
  assert.deepEqual(await listRollbackAlarms(marksDir), []);
  await again.close();
});

test("a mailbox another computer deletes is no alarm", async () => {
  const marksDir = await tempDir();
  const store = memoryStore();
  const { log, lines } = collecting();
  const here = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF, marksDir, log });
  await here.createMailbox("Old");
  const old = await here.mailbox("Old");
  await old.append(sampleMessage(2), [], Date.now());
  const there = await openAccount(store, PASSWORD);
  await there.deleteMailbox("Old");
  assert.equal(await old.sync(), true);
  assert.equal(old.index.uids.length, 0);
  assert.deepEqual(await listRollbackAlarms(marksDir), []);
  assert.deepEqual(lines, []);
  await here.close();
  await there.close();
});

test("marks saved while one is being written share one append, and the journal ends with the last", async () => {
  const dir = await tempDir();
  const { log } = collecting();
  const book = openMarkBook({ marksDir: dir, key: new Uint8Array(32).fill(9), accountName: "g", log });
  await book.save("index/g", { n: -1 }); // the journal exists: only mark writes are counted below
  // Counts fsyncs and fdatasyncs through the prototype every FileHandle shares (one per append).
  const probe = await open(join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await probe.close();
  const originals = { sync: proto.sync, datasync: proto.datasync };
  let syncs = 0;
  for (const name of ["sync", "datasync"] as const) {
    proto[name] = function (this: unknown) {
      syncs++;
      return originals[name].call(this);
    };
  }
  try {
    await Promise.all(Array.from({ length: 20 }, (_, n) => book.save(n % 2 ? "index/g" : "index/h", { n })));
  } finally {
    Object.assign(proto, originals);
  }
  assert.deepEqual(await book.load("index/g"), { n: 19 });
  assert.deepEqual(await book.load("index/h"), { n: 18 });
  assert.ok(syncs <= 2, `20 saves of two paths at once took ${syncs} fsyncs, not 20`);
  // A remove called after a save that waits must not be overtaken by a later save joining it.
  const writing = book.save("index/g", { n: 20 });
  const waiting = book.save("index/g", { n: 21 });
  const removing = book.remove("index/g");
  const after = book.save("index/g", { n: 22 });
  await Promise.all([writing, waiting, removing, after]);
  assert.deepEqual(await book.load("index/g"), { n: 22 });
  await book.remove("index/g");
  assert.equal(await book.load("index/g"), undefined);
});
