import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  runCli,
  startServer,
  tempHome,
  withRunningServer,
  withSetUpHome,
  type RunningServer,
  CLI_PASSWORD,
} from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;

/** The first line the IMAP server sends (RFC 3501 §7.1.1 greeting), bounded in time. */
function greeting(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no greeting within 10 s"));
    }, 10_000);
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
      if (text.includes("\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text.split("\r\n")[0]!);
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

// `start` and the first `status` and `passwd change` beside a server run the binary; the checks
// that only read what they left run in this process (runCliHere).
describe("start, status and passwd", { concurrency: true }, () => {
  describe("start refuses to listen off loopback unless asked in so many words", IN_ORDER, () => {
    const home = withSetUpHome({ password: PASSWORD });

    test("--bind 0.0.0.0 without --allow-remote is refused (2)", async () => {
      const r = await runCli(["start", "--bind", "0.0.0.0"], { home: home.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0.*--allow-remote/);
    });

    test("--allow-remote without TLS configured is refused too (2)", async () => {
      const r = await runCli(["start", "--bind", "0.0.0.0", "--allow-remote"], { home: home.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /without TLS/);
    });

    test("without a terminal or --password-stdin, start on a fresh home says how to set up (6)", async () => {
      const fresh = await tempHome();
      try {
        const r = await runCli(["start"], { home: fresh.dir });
        assert.equal(r.code, 6);
        assert.match(r.stderr, /aerogramme-local init.*--password-stdin/);
      } finally {
        await fresh.cleanup();
      }
    });
  });

  describe("start, status and passwd with a running server", IN_ORDER, () => {
    const home = withRunningServer({ password: PASSWORD });

    test("serves IMAP on 127.0.0.1 and prints exactly one ready line", async () => {
      assert.equal(home.server.host, "127.0.0.1");
      assert.match(await greeting(home.server.host, home.server.port), /^\* OK/);
    });

    test("status reaches the running server: pid, port, storage, and mail counts with the password", async () => {
      const r = await runCli(["status", "--json"], { home: home.dir });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as {
        running: boolean;
        pid: number;
        imap: { port: number };
        storage: { reachable: boolean };
      };
      assert.deepEqual(
        [report.running, report.pid, report.imap.port, report.storage.reachable],
        [true, home.server.child.pid, home.server.port, true],
      );
      // 0 only while the server runs; where its log goes; the storage round trip (issue 16).
      const full = JSON.parse(r.stdout) as {
        logs: { journal: boolean; file?: string };
        storage: { roundTripMs: number };
        user: string;
      };
      assert.deepEqual([full.logs.journal, full.logs.file, full.user], [false, undefined, "alice"]);
      assert.equal(typeof full.storage.roundTripMs, "number");
      const text = await runCliHere(["status"], { home: home.dir });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Logs: +standard error of `start`$/m);
      const counted = await runCliHere(["status", "--json", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(counted.code, 0, counted.stderr);
      assert.ok(
        (JSON.parse(counted.stdout) as { mailboxes: { name: string }[] }).mailboxes.some(
          (m) => m.name === "INBOX",
        ),
      );
      // That login opened the account: the search index's progress shows (issue 11).
      const after = await runCliHere(["status", "--json"], { home: home.dir });
      const index = (
        JSON.parse(after.stdout) as { searchIndex?: { state: string; indexed: number; total: number } }
      ).searchIndex;
      assert.ok(index && ["loading", "building", "ready"].includes(index.state), after.stdout);
      assert.ok(index.indexed <= index.total || index.state !== "ready", after.stdout);
      const human = await runCliHere(["status"], { home: home.dir });
      assert.match(human.stdout, /^Search index: (loading|building|ready), \d+ of \d+ messages/m);
    });

    test("a real client logs in, appends a message and fetches it back", async () => {
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
        const raw =
          "From: a@example.org\r\nTo: alice@example.org\r\nSubject: hello from the CLI test\r\n\r\nbody\r\n";
        await client.append("INBOX", raw);
        const lock = await client.getMailboxLock("INBOX");
        try {
          const msg = await client.fetchOne("*", { source: true, envelope: true });
          assert.ok(msg);
          assert.equal(msg.envelope?.subject, "hello from the CLI test");
          assert.equal(msg.source?.toString(), raw);
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
    });

    test("passwd change goes through the running server: the new password logs in, the old one no longer does", async () => {
      const r = await runCli(["passwd", "change", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\nrenewed password\n`,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /applied by the running server/);
      const oldOne = await runCliHere(["status", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(oldOne.code, 3);
      const newOne = await runCliHere(["status", "--password-stdin"], {
        home: home.dir,
        input: "renewed password\n",
      });
      assert.equal(newOne.code, 0, newOne.stderr);
    });

    test("a second start for the same home exits 5 and names the running one", async () => {
      const r = await runCli(["start", "--imap-port", "0"], { home: home.dir });
      assert.equal(r.code, 5);
      assert.match(r.stderr, new RegExp(`already runs for this home \\(pid ${home.server.child.pid}`));
    });

    test("SIGTERM stops it cleanly: exit 0, run file and control socket gone, no secret in the logs", async () => {
      const code = await home.server.stop("SIGTERM");
      assert.equal(code, 0, home.server.stderr());
      assert.ok(!existsSync(join(home.dir, "server.json")));
      assert.ok(!existsSync(join(home.dir, "control.sock")));
      assert.match(home.server.stderr(), /SIGTERM: stopping/);
      assert.ok(
        !home.server.stderr().includes(PASSWORD) && !home.server.stderr().includes("renewed password"),
      );
      const after = await runCliHere(["status", "--json"], { home: home.dir });
      assert.equal((JSON.parse(after.stdout) as { running: boolean }).running, false);
    });
  });

  describe("start on a fresh home with --password-stdin", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    let server: RunningServer | undefined;
    before(async () => (home = await tempHome()));
    after(async () => {
      await server?.stop("SIGKILL");
      await home.cleanup();
    });

    test("makes an embedded account, serves it, and SIGINT stops it cleanly", async () => {
      server = await startServer(["--imap-port", "0", "--user", "dave", "--password-stdin"], {
        home: home.dir,
        input: "dave's password\n",
      });
      assert.match(await greeting(server.host, server.port), /^\* OK/);
      const list = await runCliHere(["config", "list", "--json"], { home: home.dir });
      const settings = (JSON.parse(list.stdout) as { settings: Record<string, string> }).settings;
      assert.deepEqual([settings.backend, settings.user], ["embedded", "dave"]);
      assert.equal(await server.stop("SIGINT"), 0, server.stderr());
    });
  });
});
