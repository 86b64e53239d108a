/**
 * NeoMutt (Debian neomutt), a terminal client, driven through tmux against aerogramme-local: it
 * opens INBOX over IMAP with threads sorted, shows the messages as a thread, and a flag set with
 * its keys reaches the server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { TmuxDriver } from "../cli/tmuxDriver.ts";

const neomutt = findExecutable("neomutt");
const tmux = findExecutable("tmux");
const skip =
  skipUnless(neomutt !== undefined, "neomutt", "apt-get install neomutt") ||
  skipUnless(tmux !== undefined, "tmux", "apt-get install tmux");

let server: TestServer;
let dir: string;
let term: TmuxDriver | undefined;

before(async () => {
  if (skip) return;
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), "aerogramme-neomutt-"));
  writeFileSync(
    join(dir, "muttrc"),
    [
      `set folder = "imap://${server.user}@127.0.0.1:${server.port}/"`,
      `set imap_pass = "${server.password}"`,
      'set spoolfile = "+INBOX"',
      "set ssl_starttls = no",
      "set ssl_force_tls = no",
      "set sort = threads",
      "set sort_aux = date",
      'set record = ""',
      'set postponed = ""',
      'set header_cache = ""',
      'set message_cachedir = ""',
      "set mail_check = 1",
      "set timeout = 1",
      "set quit = yes",
      "set wait_key = no",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const c = await imapflowClient(server);
  const mails = [
    ["<plan@x>", "", "Project plan", "Mon, 2 Mar 2026 10:00:00 +0000"],
    ["<reply@x>", "<plan@x>", "Re: Project plan", "Mon, 2 Mar 2026 11:00:00 +0000"],
    ["<other@x>", "", "Lunch on Friday", "Mon, 2 Mar 2026 12:00:00 +0000"],
  ];
  for (const [id, refs, subject, date] of mails)
    await c.append(
      "INBOX",
      `From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: ${subject}\r\nDate: ${date}\r\n` +
        `Message-ID: ${id}\r\n${refs ? `In-Reply-To: ${refs}\r\n` : ""}\r\nHello.\r\n`,
    );
  await c.logout();
});

after(async () => {
  term?.kill();
  if (skip) return;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test(
  "neomutt (needs neomutt, tmux) lists INBOX as threads and its flag reaches the server",
  { skip, timeout: 120_000 },
  async () => {
    term = TmuxDriver.start([neomutt!, "-n", "-F", join(dir, "muttrc")], {
      HOME: dir,
      TERM: "xterm-256color",
      LANG: "C.UTF-8",
    });
    const screen = await term.waitFor(/Lunch on Friday/, 30_000);
    // The reply sits under its parent as a thread: NeoMutt draws "└─>" and hides the repeated subject.
    assert.match(screen, /1 N .*Project plan *\n *2 N .*─>\s*\n *3 N .*Lunch on Friday/);
    // Flag the first message and write the change back ($ syncs the mailbox).
    term.type("F");
    await term.waitFor(/Flag:1/, 10_000);
    term.type("$");
    const c = await imapflowClient(server);
    try {
      let flagged: number[] = [];
      for (let i = 0; i < 50 && flagged.length === 0; i++) {
        const lock = await c.getMailboxLock("INBOX");
        try {
          flagged = (await c.search({ flagged: true })) || [];
        } finally {
          lock.release();
        }
        if (flagged.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(flagged.length, 1, term.screen());
    } finally {
      await c.logout();
    }
    term.type("q");
    await term.waitFor(/EXIT:0/, 20_000);
  },
);
