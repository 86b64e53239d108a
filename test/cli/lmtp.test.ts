/**
 * `start --lmtp-port N` (issue 13): LMTP on 127.0.0.1 beside IMAP, one reply per recipient,
 * plus-addressing into a mailbox that exists (else INBOX), SIZE announced and enforced, 5xx only
 * for what is not a message, 4xx when the delivery cannot be stored (the MTA keeps the mail), and
 * delivered mail reaching an IDLE client once the account is open.
 */
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "../support/imapflowClient.ts";
import { LmtpWire } from "../support/lmtpWire.ts";
import { CLI_PASSWORD, freePort, runCli, withRunningServer, type RunningServer } from "./cliHarness.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;

function message(subject: string): string {
  return `From: sender@example.org\nTo: alice@example.org\nSubject: ${subject}\nMessage-ID: <${subject.replace(/\W/g, "")}@example.org>\n\nhello from LMTP\n.leading dot kept\n`;
}

async function messages(client: ImapFlow, mailbox: string): Promise<number> {
  const status = await client.status(mailbox, { messages: true });
  return status ? (status.messages ?? 0) : 0;
}

describe("LMTP beside IMAP", () => {
  const home = withRunningServer({ password: PASSWORD, start: "manual" });
  let server: RunningServer;
  let lmtpPort: number;
  let client: ImapFlow;
  before(async () => {
    lmtpPort = await freePort();
    server = await home.start(["--lmtp-port", String(lmtpPort)]);
    client = new ImapFlow({
      host: server.host,
      port: server.port,
      secure: false,
      auth: { user: "alice", pass: PASSWORD },
      logger: false,
    });
    await client.connect();
    await client.mailboxCreate("Archive");
  });
  // The fixture's `after` (declared first, so run first) kills the server and removes the home.
  after(async () => {
    await client?.logout().catch(() => {}); // the server is gone by now
  });

  test("one reply per recipient; an unknown user is 550 at RCPT; plus-addresses choose the mailbox", async () => {
    const { wire, greeting } = await LmtpWire.open(lmtpPort);
    try {
      assert.equal(greeting.code, 220);
      assert.match(greeting.text, /LMTP/);
      const lhlo = await wire.command("LHLO mail.example.org");
      assert.equal(lhlo[0]!.code, 250);
      assert.equal((await wire.command("MAIL FROM:<sender@example.org>"))[0]!.code, 250);
      assert.equal((await wire.command("RCPT TO:<alice@example.org>"))[0]!.code, 250);
      assert.equal((await wire.command("RCPT TO:<Alice+Archive@example.org>"))[0]!.code, 250);
      assert.equal((await wire.command("RCPT TO:<alice+NoSuchBox@example.org>"))[0]!.code, 250);
      const bob = await wire.command("RCPT TO:<bob@example.org>");
      assert.equal(bob[0]!.code, 550, bob[0]!.text);
      const replies = await wire.data(message("three copies"), 3);
      assert.deepEqual(
        replies.map((r) => r.code),
        [250, 250, 250],
        JSON.stringify(replies),
      );
    } finally {
      wire.close();
    }
    // The mover runs since the login above: INBOX gets two (alice, NoSuchBox), Archive one.
    const deadline = Date.now() + 20_000;
    let counts = { inbox: 0, archive: 0 };
    while (Date.now() < deadline) {
      counts = { inbox: await messages(client, "INBOX"), archive: await messages(client, "Archive") };
      if (counts.inbox >= 2 && counts.archive >= 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(counts, { inbox: 2, archive: 1 });
    const lock = await client.getMailboxLock("Archive");
    try {
      const fetched = await client.fetchOne("1", { source: true });
      assert.ok(fetched && fetched.source);
      const text = fetched.source.toString();
      assert.match(text, /^Return-Path: <sender@example\.org>\r\nFrom: sender@example\.org\r\n/);
      assert.match(text, /\r\n\.leading dot kept\r\n/);
    } finally {
      lock.release();
    }
  });

  test("an IDLE client sees an LMTP delivery within 2 s", async () => {
    const lock = await client.getMailboxLock("INBOX");
    try {
      const before = client.mailbox ? client.mailbox.exists : 0;
      const seen = new Promise<number>((resolve) => {
        client.on("exists", (data: { count: number }) => resolve(data.count));
      });
      void client.idle(); // ended by the next command; its result does not matter here
      const { wire } = await LmtpWire.open(lmtpPort);
      const sentAt = Date.now();
      try {
        await wire.command("LHLO mail.example.org");
        await wire.command("MAIL FROM:<sender@example.org>");
        await wire.command("RCPT TO:<alice@example.org>");
        assert.equal((await wire.data(message("seen while idle"), 1))[0]!.code, 250);
      } finally {
        wire.close();
      }
      const count = await Promise.race([
        seen,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error("no EXISTS within 2 s")), 2_000),
        ),
      ]);
      assert.ok(count > before);
      assert.ok(Date.now() - sentAt < 2_000 + 1_000);
    } finally {
      lock.release();
    }
  });

  test("SIZE is announced and a larger message refused (552); a headerless one is 554", async () => {
    const { wire } = await LmtpWire.open(lmtpPort);
    try {
      await wire.command("LHLO mail.example.org");
      const tooBig = await wire.command(`MAIL FROM:<sender@example.org> SIZE=${200 * 1024 * 1024}`);
      assert.equal(tooBig[0]!.code, 552, tooBig[0]!.text);
      await wire.command("RSET");
      await wire.command("MAIL FROM:<sender@example.org>");
      await wire.command("RCPT TO:<alice@example.org>");
      const junk = await wire.data("this line has no header at all\n", 1);
      assert.equal(junk[0]!.code, 554, junk[0]!.text);
    } finally {
      wire.close();
    }
  });

  test("a delivery that cannot be stored is 451, so the MTA keeps it and retries", async () => {
    // Without the pinned key the home cannot seal a delivery: the error is the server's, not the mail's.
    const pinned = join(home.dir, "publicKey");
    await rename(pinned, `${pinned}.away`);
    try {
      const { wire } = await LmtpWire.open(lmtpPort);
      try {
        await wire.command("LHLO mail.example.org");
        await wire.command("MAIL FROM:<sender@example.org>");
        await wire.command("RCPT TO:<alice@example.org>");
        const replies = await wire.data(message("not now"), 1);
        assert.equal(replies[0]!.code, 451, replies[0]!.text);
      } finally {
        wire.close();
      }
    } finally {
      await rename(`${pinned}.away`, pinned);
    }
    assert.match(server.stderr(), /LMTP: delivery to alice@example\.org failed, the MTA will retry/);
  });

  test("the LMTP port held by another program: exit 12 naming the LMTP port and --lmtp-port", async () => {
    await server.stop();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(lmtpPort, "127.0.0.1", resolve));
    try {
      const r = await runCli(["start", "--imap-port", "0", "--lmtp-port", String(lmtpPort)], {
        home: home.dir,
      });
      assert.equal(r.code, 12, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`the LMTP port ${lmtpPort} is already in use: process ${process.pid} `),
      );
      assert.match(r.stderr, /--lmtp-port N/);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
