import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeCredentialsFile } from "../../src/config/credentialsFile.ts";
import {
  CLI_PASSWORD,
  freePort,
  runCli,
  tempHome,
  withRunningServer,
  withSetUpHome,
  type RunningServer,
} from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";
import { imapflowClient } from "../support/imapflowClient.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;

type Client = Awaited<ReturnType<typeof imapflowClient>>;

function connect(server: RunningServer): Promise<Client> {
  return imapflowClient({ host: server.host, port: server.port, user: "alice", password: PASSWORD });
}

/** Subjects in `mailbox`, once it holds at least `count` messages (bounded wait). */
async function subjectsWhenThere(client: Client, mailbox: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const status = await client.status(mailbox, { messages: true });
    if (status && (status.messages ?? 0) >= count) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const lock = await client.getMailboxLock(mailbox);
  try {
    const out: string[] = [];
    for await (const msg of client.fetch("1:*", { envelope: true })) out.push(msg.envelope?.subject ?? "");
    return out;
  } finally {
    lock.release();
  }
}

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

// A deliver per case runs the binary (exit codes, stdin empty or not); the further deliveries of
// a case and `config set` run in this process (runCliHere).
describe("deliver", { concurrency: true }, () => {
  describe("deliver without a server", IN_ORDER, () => {
    test("before init: exit 6 and says to run init", async () => {
      const home = await tempHome();
      try {
        const r = await runCli(["deliver"], { home: home.dir, input: "Subject: x\n\nx\n" });
        assert.equal(r.code, 6);
        assert.match(r.stderr, /aerogramme-local init/);
      } finally {
        await home.cleanup();
      }
    });
  });

  describe("deliver when storage does not answer", IN_ORDER, () => {
    const home = withSetUpHome({ password: PASSWORD });

    test("exit 75 (sysexits EX_TEMPFAIL), so a mail fetcher keeps the message and retries", async () => {
      // The home now names a Garage that nothing serves: every request is refused.
      const closed = `http://127.0.0.1:${await freePort()}`;
      for (const [key, value] of [
        ["backend", "garage"],
        ["s3Endpoint", closed],
        ["k2vEndpoint", closed],
        ["region", "garage"],
        ["bucket", "mail"],
        ["credentialsStore", "file"],
      ])
        assert.equal((await runCliHere(["config", "set", key!, value!], { home: home.dir })).code, 0);
      await writeCredentialsFile(join(home.dir, "credentials.json"), {
        accessKeyId: "GK1",
        secretAccessKey: "s",
      });
      const r = await runCli(["deliver"], { home: home.dir, input: "Subject: x\n\nx\n", timeoutMs: 120_000 });
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, /Nothing was delivered: try again later/);
    });
  });

  describe("deliver, then start, then a client sees the mail", IN_ORDER, () => {
    // The first test delivers with no server running: it is started by the second.
    const home = withRunningServer({ password: PASSWORD, start: "manual" });

    test("with no server and no password: queued, exit 0, one line; what is not a message is refused (65)", async () => {
      const r = await runCli(["deliver"], {
        home: home.dir,
        input:
          "From sender@example.org Mon Jan  1 00:00:00 2024\nFrom: sender@example.org\nSubject: queued while stopped\n\nhello\n",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Queued for INBOX: .*\n$/);
      const json = await runCliHere(["deliver", "--mailbox", "No such mailbox", "--json"], {
        home: home.dir,
        input: "Subject: to a missing mailbox\n\nx\n",
      });
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as { queued: string; filed: boolean; viaServer: boolean };
      assert.match(parsed.queued, /^incoming\/[0-9a-f]{28}$/);
      assert.deepEqual([parsed.filed, parsed.viaServer], [false, false]);
      // sysexits EX_DATAERR (65): a mail fetcher bounces what is not a message.
      const empty = await runCli(["deliver"], { home: home.dir, input: "" });
      assert.equal(empty.code, 65);
      assert.match(empty.stderr, /standard input is empty/);
      const headerless = await runCliHere(["deliver"], { home: home.dir, input: "just some words\n" });
      assert.equal(headerless.code, 65);
      assert.match(headerless.stderr, /not a message: it does not start with a header field/);
    });

    test("after start and a login, the queued mail is in INBOX (a missing mailbox falls back to INBOX), envelope line dropped", async () => {
      const server = await home.start();
      const client = await connect(server);
      try {
        const subjects = await subjectsWhenThere(client, "INBOX", 2);
        assert.deepEqual(subjects.sort(), ["queued while stopped", "to a missing mailbox"]);
        const lock = await client.getMailboxLock("INBOX");
        try {
          const first = await client.fetchOne("1", { source: true });
          assert.ok(first && first.source);
          assert.ok(
            first.source
              .toString()
              .startsWith("From: sender@example.org\r\nSubject: queued while stopped\r\n"),
          );
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
      // The mover logs once the whole queue is filed: a client may see the mail a moment before.
      const deadline = Date.now() + 15_000;
      while (!/filed 2 delivered message/.test(server.stderr()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(server.stderr(), /filed 2 delivered message/);
    });

    test("beside the running server, deliver goes through it and the mail is filed at once", async () => {
      const r = await runCli(["deliver", "--mailbox", "Archive"], {
        home: home.dir,
        input: "Subject: while running\n\nhi\n",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Delivered to Archive.\n");
      const client = await connect(home.server);
      try {
        assert.deepEqual(await subjectsWhenThere(client, "Archive", 1), ["while running"]);
      } finally {
        await client.logout();
      }
    });

    test("deliver says where the server filed it: a missing mailbox is reported as INBOX, not as asked", async () => {
      const json = await runCliHere(["deliver", "--mailbox", "NoSuchBox", "--json"], {
        home: home.dir,
        input: "Subject: nowhere to go\n\nhi\n",
      });
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as {
        requestedMailbox: string;
        mailbox: string | null;
        filed: boolean;
      };
      assert.deepEqual([parsed.requestedMailbox, parsed.mailbox, parsed.filed], ["NoSuchBox", "INBOX", true]);
      const text = await runCliHere(["deliver", "--mailbox", "NoSuchBox"], {
        home: home.dir,
        input: "Subject: nowhere again\n\nhi\n",
      });
      assert.equal(text.stdout, "Delivered to INBOX: there is no mailbox named NoSuchBox.\n");
    });
  });
});
