/**
 * mbsync (Debian isync) against aerogramme-local: pull a 1,000-message mailbox into a Maildir, push
 * local changes back (a new mail, flags, a deletion), and check that a second sync changes nothing.
 */
import { mbsyncRc } from "../support/mbsyncRc.ts";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { ImapFlow, imapflowClient } from "../support/imapflowClient.ts";
import { runChild } from "../support/runChild.ts";

const mbsync = findExecutable("mbsync");
const skip = skipUnless(mbsync !== undefined, "mbsync", "apt-get install isync");
const COUNT = 1000;

let server: TestServer;
let dir: string;

function rc(): string {
  return mbsyncRc({
    name: "test",
    port: server.port,
    user: server.user,
    password: server.password,
    home: dir,
    patterns: ["INBOX"],
    sync: "All",
    expunge: "Both",
  });
}

async function sync(): Promise<string> {
  const run = await runChild(mbsync!, ["-c", join(dir, "mbsyncrc"), "-V", "test"], { timeoutMs: 180_000 });
  assert.equal(run.status, 0, `mbsync failed:\n${run.stdout}\n${run.stderr}`);
  return run.stdout + run.stderr;
}

function maildirFiles(): string[] {
  const cur = join(dir, "mail/INBOX/cur");
  const fresh = join(dir, "mail/INBOX/new");
  return [...readdirSync(cur).map((f) => join(cur, f)), ...readdirSync(fresh).map((f) => join(fresh, f))];
}

before(async () => {
  if (skip) return;
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), "aerogramme-mbsync-"));
  writeFileSync(join(dir, "mbsyncrc"), rc(), { mode: 0o600 });
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(dir, "state"));
  mkdirSync(join(dir, "mail"));
  const c = await imapflowClient(server);
  for (let i = 0; i < COUNT; i++) {
    const body = `Message number ${i}\r\n${"lorem ipsum ".repeat(20 + (i % 50))}\r\n`;
    await c.append(
      "INBOX",
      `From: sender${i % 17}@example.org\r\nTo: alice@example.org\r\nSubject: Note ${i}\r\nMessage-ID: <n${i}@example.org>\r\n\r\n${body}`,
      i % 3 === 0 ? ["\\Seen"] : [],
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
  "mbsync (needs isync) pulls 1,000 messages, pushes new mail, flags and deletions, then has nothing to do",
  { skip },
  async () => {
    await sync();
    let files = maildirFiles();
    assert.equal(files.length, COUNT);
    const seen = files.filter((f) => /:2,[A-Z]*S/.test(f)).length;
    assert.equal(seen, Math.ceil(COUNT / 3));

    // Local changes: a new message, a flag change, a deletion.
    writeFileSync(
      join(dir, "mail/INBOX/new", `${Date.now()}.local1.host`),
      "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Written offline\r\n\r\nHello from the Maildir.\r\n",
    );
    const unseen = files.find((f) => /:2,$/.test(f))!;
    renameSync(unseen, `${unseen}FS`);
    const doomed = files.find((f) => f !== unseen)!;
    unlinkSync(doomed);
    await sync();

    const c = new ImapFlow({
      host: "127.0.0.1",
      port: server.port,
      secure: false,
      auth: { user: server.user, pass: server.password },
      logger: false,
    });
    await c.connect();
    const lock = await c.getMailboxLock("INBOX");
    try {
      assert.equal((c.mailbox as { exists: number }).exists, COUNT); // +1 new, -1 deleted
      const offline = await c.search({ subject: "Written offline" });
      assert.ok(offline && offline.length === 1);
      const flagged = await c.search({ flagged: true });
      assert.ok(flagged && flagged.length >= 1);
    } finally {
      lock.release();
      await c.logout();
    }

    files = maildirFiles();
    const before = files.sort().join("\n");
    const out = await sync();
    assert.equal(maildirFiles().sort().join("\n"), before, "a second sync must not change the Maildir");
    assert.doesNotMatch(out, /far side: \+[1-9]|near side: \+[1-9]/i, out);
  },
);
