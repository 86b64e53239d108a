/**
 * OfflineIMAP (Debian offlineimap3) against aerogramme-local: pull two mailboxes into Maildirs,
 * push local changes back (a new mail, a flag, a deletion), and check that a second run changes
 * nothing.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { runChild } from "../support/runChild.ts";

const offlineimap = findExecutable("offlineimap");
const skip = skipUnless(offlineimap !== undefined, "offlineimap", "apt-get install offlineimap3");
const COUNT = 200;

let server: TestServer;
let dir: string;

function rc(): string {
  return [
    "[general]",
    "accounts = test",
    `metadata = ${dir}/meta`,
    "ui = basic",
    "",
    "[Account test]",
    "localrepository = local",
    "remoterepository = remote",
    "",
    "[Repository local]",
    "type = Maildir",
    `localfolders = ${dir}/mail`,
    "",
    "[Repository remote]",
    "type = IMAP",
    "remotehost = 127.0.0.1",
    `remoteport = ${server.port}`,
    `remoteuser = ${server.user}`,
    `remotepass = ${server.password}`,
    "ssl = no",
    "starttls = no",
    "folderfilter = lambda name: name in ['INBOX', 'Work']",
    "",
  ].join("\n");
}

async function sync(): Promise<string> {
  const run = await runChild(offlineimap!, ["-c", join(dir, "offlineimaprc"), "-o", "-u", "basic"], {
    timeoutMs: 180_000,
  });
  const out = run.stdout + run.stderr;
  assert.equal(run.status, 0, `offlineimap failed:\n${out}`);
  assert.doesNotMatch(out, /ERROR|Traceback/, out);
  return out;
}

function maildirFiles(folder: string): string[] {
  const files: string[] = [];
  for (const sub of ["cur", "new"]) {
    const d = join(dir, "mail", folder, sub);
    files.push(...readdirSync(d).map((f) => join(d, f)));
  }
  return files;
}

before(async () => {
  if (skip) return;
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), "aerogramme-offlineimap-"));
  mkdirSync(join(dir, "mail"));
  writeFileSync(join(dir, "offlineimaprc"), rc(), { mode: 0o600 });
  const c = await imapflowClient(server);
  await c.mailboxCreate("Work");
  for (let i = 0; i < COUNT; i++) {
    await c.append(
      i % 4 === 0 ? "Work" : "INBOX",
      `From: sender${i % 7}@example.org\r\nTo: alice@example.org\r\nSubject: Item ${i}\r\n` +
        `Message-ID: <item${i}@example.org>\r\n\r\nBody of item ${i}\r\n`,
      i % 5 === 0 ? ["\\Seen"] : [],
    );
  }
  await c.logout();
});

after(async () => {
  if (skip) return;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test(
  "offlineimap (needs offlineimap3) pulls two mailboxes, pushes new mail, a flag and a deletion, then has nothing to do",
  { skip, timeout: 300_000 },
  async () => {
    await sync();
    assert.equal(maildirFiles("INBOX").length, COUNT - COUNT / 4);
    assert.equal(maildirFiles("Work").length, COUNT / 4);
    assert.equal(
      maildirFiles("INBOX").filter((f) => /:2,[A-Z]*S[A-Z]*$/.test(f)).length,
      [...Array(COUNT).keys()].filter((i) => i % 4 !== 0 && i % 5 === 0).length,
    );

    const inbox = maildirFiles("INBOX");
    writeFileSync(
      join(dir, "mail/INBOX/new", `${Date.now()}_0.${process.pid}.localhost`),
      "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Written offline\r\n\r\nHello from offlineimap.\r\n",
    );
    const unseen = inbox.find((f) => /:2,$/.test(f))!;
    renameSync(unseen, `${unseen}F`);
    const doomed = inbox.find((f) => f !== unseen)!;
    unlinkSync(doomed);
    await sync();

    const c = await imapflowClient(server);
    const lock = await c.getMailboxLock("INBOX");
    try {
      assert.equal((c.mailbox as { exists: number }).exists, COUNT - COUNT / 4); // +1 new, -1 deleted
      assert.equal(((await c.search({ subject: "Written offline" })) || []).length, 1);
      assert.equal(((await c.search({ flagged: true })) || []).length, 1);
    } finally {
      lock.release();
      await c.logout();
    }

    const before = [...maildirFiles("INBOX"), ...maildirFiles("Work")].sort().join("\n");
    await sync();
    const afterwards = [...maildirFiles("INBOX"), ...maildirFiles("Work")].sort().join("\n");
    assert.equal(afterwards, before, "a second run must not change the Maildirs");
  },
);
