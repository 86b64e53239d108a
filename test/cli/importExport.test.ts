import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli, withRunningServer, withSetUpHome, CLI_PASSWORD } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;

/** Written exactly as export writes it (MAILER-DAEMON, UTC asctime, LF, mboxrd quoting), so the bytes round-trip. */
const MBOX = [
  "From MAILER-DAEMON Mon Jan  1 10:00:00 2024",
  "From: a@example.org",
  "Subject: first",
  "",
  ">From the body, quoted",
  ">>From twice",
  "",
  "From MAILER-DAEMON Tue Jan  2 11:30:00 2024",
  "From: b@example.org",
  "Subject: second",
  "",
  "second body",
  "",
  "From MAILER-DAEMON Wed Jan  3 12:45:59 2024",
  "From: c@example.org",
  "Subject: third",
  "",
  "third body",
  "",
  "",
].join("\n");

const MAILDIR: [string, string, number][] = [
  ["cur/1704103200.M1.host:2,FS", "From: a@example.org\nSubject: flagged seen\n\nA\n", 1704103200],
  ["cur/1704103201.M2.host:2,RS", "From: b@example.org\nSubject: answered seen\n\nB\n", 1704103201],
  ["cur/1704103202.M3.host:2,", "From: c@example.org\nSubject: unread\n\nC\n", 1704103202],
  ["new/1704103203.M4.host", "From: d@example.org\nSubject: brand new\n\nD\n", 1704103203],
];

async function writeMaildir(dir: string): Promise<void> {
  for (const sub of ["cur", "new", "tmp"]) await mkdir(join(dir, sub), { recursive: true });
  for (const [name, text, t] of MAILDIR) {
    await writeFile(join(dir, name), text);
    await utimes(join(dir, name), t, t);
  }
}

/** Contents and flag letters of an exported Maildir, in file-name order (which is date order here). */
async function readMaildir(dir: string): Promise<[string, string][]> {
  const names = (await readdir(join(dir, "cur"))).sort();
  return Promise.all(
    names.map(
      async (n) => [n.replace(/^.*:2,/, ""), await readFile(join(dir, "cur", n), "utf8")] as [string, string],
    ),
  );
}

const EXPECTED_MAILDIR: [string, string][] = [
  ["FS", MAILDIR[0]![1]],
  ["RS", MAILDIR[1]![1]],
  ["", MAILDIR[2]![1]],
  ["", MAILDIR[3]![1]],
];

/**
 * The blocks of this file run at once, each on a home of its own; the tests of one block in order.
 * The first import and export, and the import through the server, run the binary; the others run
 * in this process (runCliHere): their subject is what import and export do to the mail.
 */
const IN_ORDER = { concurrency: 1 };

describe("import and export", { concurrency: true }, () => {
  describe("import and export with no server running", IN_ORDER, () => {
    const home = withSetUpHome({
      password: PASSWORD,
      prepare: async (dir) => {
        await writeFile(join(dir, "in.mbox"), MBOX);
        await writeMaildir(join(dir, "in-maildir"));
      },
    });

    test("an mbox goes in (format guessed, mailbox created) and comes back byte for byte", async () => {
      const hint = join(home.dir, "inboxHint");
      assert.ok(!existsSync(hint), "init made the account: no hint yet");
      const r = await runCli(
        ["import", join(home.dir, "in.mbox"), "--mailbox", "Old mail", "--password-stdin", "--json"],
        {
          home: home.dir,
          input: `${PASSWORD}\n`,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout) as { format: string; messages: number; createdMailbox: boolean };
      assert.deepEqual([summary.format, summary.messages, summary.createdMailbox], ["mbox", 3, true]);
      // The import's unlock read the sealed list: INBOX's id is kept for the next start's LOGIN.
      assert.match(await readFile(hint, "utf8"), /^[0-9a-f]{32}\n$/);

      const out = join(home.dir, "out.mbox");
      const e = await runCli(["export", out, "--mailbox", "Old mail", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(e.code, 0, e.stderr);
      assert.match(e.stdout, /^Exported 3 message\(s\)/);
      assert.equal(await readFile(out, "utf8"), MBOX);
    });

    test("a Maildir with flags goes in and comes back with the same bytes and flag letters; --progress prints progress", async () => {
      const r = await runCliHere(
        [
          "import",
          join(home.dir, "in-maildir"),
          "--mailbox",
          "From Maildir",
          "--password-stdin",
          "--progress",
        ],
        { home: home.dir, input: `${PASSWORD}\n` },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^Imported 4 new message\(s\), .* from maildir .* into "From Maildir" \(new mailbox\)/,
      );
      assert.match(r.stderr, /imported \d+ message\(s\), .*msg\/s/);

      const out = join(home.dir, "out-maildir");
      const e = await runCliHere(
        ["export", out, "--mailbox", "From Maildir", "--format", "maildir", "--password-stdin"],
        {
          home: home.dir,
          input: `${PASSWORD}\n`,
        },
      );
      assert.equal(e.code, 0, e.stderr);
      assert.deepEqual(await readMaildir(out), EXPECTED_MAILDIR);
    });

    test("export of everything writes one Maildir per mailbox, names made safe for files", async () => {
      const out = join(home.dir, "all");
      const e = await runCliHere(["export", out, "--password-stdin", "--json"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(e.code, 0, e.stderr);
      const entries = (await readdir(out)).sort();
      assert.ok(
        entries.includes("INBOX") && entries.includes("Old mail") && entries.includes("From Maildir"),
        entries.join(),
      );
      assert.equal((JSON.parse(e.stdout) as { messages: number }).messages, 7);
    });

    test("a wrong password is refused with exit 3 and nothing is imported", async () => {
      const r = await runCliHere(["import", join(home.dir, "in.mbox"), "--password-stdin"], {
        home: home.dir,
        input: "not the password\n",
      });
      assert.equal(r.code, 3);
      assert.match(r.stderr, /wrong password/);
      const s = await runCliHere(["status", "--json", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal((JSON.parse(s.stdout) as { messages: number }).messages, 7);
    });

    test("bad paths: missing (6), a folder that is no Maildir (2), export over an existing file (9)", async () => {
      const missing = await runCliHere(["import", join(home.dir, "nope.mbox"), "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(missing.code, 6);
      assert.match(missing.stderr, /nothing to import at/);
      await mkdir(join(home.dir, "plain"), { recursive: true });
      const plain = await runCliHere(["import", join(home.dir, "plain"), "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(plain.code, 2);
      assert.match(plain.stderr, /not a Maildir/);
      const over = await runCliHere(
        ["export", join(home.dir, "in.mbox"), "--mailbox", "INBOX", "--password-stdin"],
        {
          home: home.dir,
          input: `${PASSWORD}\n`,
        },
      );
      assert.equal(over.code, 9);
      assert.match(over.stderr, /already exists/);
    });
  });

  describe("import and export through a running server", IN_ORDER, () => {
    const home = withRunningServer({
      password: PASSWORD,
      prepare: (dir) => writeMaildir(join(dir, "in-maildir")),
    });

    test("import goes through the server (which holds the store) and an IMAP client sees the mail with its flags", async () => {
      const r = await runCli(
        ["import", join(home.dir, "in-maildir"), "--mailbox", "Imported", "--password-stdin", "--json"],
        {
          home: home.dir,
          input: `${PASSWORD}\n`,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { messages: number }).messages, 4);

      const { ImapFlow } = await import("imapflow");
      const client = new ImapFlow({
        host: home.server.host,
        port: home.server.port,
        secure: false,
        auth: { user: "alice", pass: PASSWORD },
        logger: false,
      });
      await client.connect();
      try {
        const lock = await client.getMailboxLock("Imported");
        try {
          const seen: [string, string[]][] = [];
          for await (const msg of client.fetch("1:*", { envelope: true, flags: true }))
            // \Recent is the session's, not the import's (RFC 3501 §2.3.2): the stored flags only.
            seen.push([
              msg.envelope?.subject ?? "",
              [...(msg.flags ?? [])].filter((f) => f !== "\\Recent").sort(),
            ]);
          assert.deepEqual(seen, [
            ["flagged seen", ["\\Flagged", "\\Seen"]],
            ["answered seen", ["\\Answered", "\\Seen"]],
            ["unread", []],
            ["brand new", []],
          ]);
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
    });

    test("export goes through the server too and gives the same Maildir back; a wrong password is exit 3", async () => {
      const out = join(home.dir, "out-maildir");
      const e = await runCliHere(["export", out, "--mailbox", "Imported", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(e.code, 0, e.stderr);
      assert.deepEqual(await readMaildir(out), EXPECTED_MAILDIR);
      const wrong = await runCliHere(["export", join(home.dir, "x"), "--password-stdin"], {
        home: home.dir,
        input: "wrong\n",
      });
      assert.equal(wrong.code, 3);
      assert.match(wrong.stderr, /wrong password/);
    });
  });
});
