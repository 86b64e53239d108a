import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { CLI_PASSWORD, freePort, runCli, tempHome, withSetUpHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";
import { openAccount } from "../../src/mail/account.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";

const PASSWORD = "correct horse battery staple";
/** The password of the run's set-up home (cliHarness.ts, copyHome), which the passwd tests start from. */
const CURRENT = CLI_PASSWORD;

// The first init, the init with nothing on stdin and the first passwd add and remove run the
// binary (its start, its stdin, its exit code); the other commands run in this process
// (runCliHere): their subject is what they do to the home.

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

describe("init", { concurrency: true }, () => {
  describe("init, scripted, on the embedded backend", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await tempHome()));
    after(() => home.cleanup());

    test("makes the account from flags and stdin, and prints the Thunderbird settings", async () => {
      const r = await runCli(
        ["init", "--backend", "embedded", "--user", "alice", "--password-stdin", "--tls"],
        {
          home: home.dir,
          input: `${PASSWORD}\n`,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Created the account "alice" in embedded storage/);
      assert.match(r.stdout, /Hostname: +127\.0\.0\.1/);
      assert.match(r.stdout, /Port: +1143/);
      assert.match(r.stdout, /Username: +alice/);
      assert.match(r.stdout, /Connection security: STARTTLS/);
      assert.ok(
        !r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD),
        "the password is never printed",
      );
    });

    test("writes settings without secrets, the key root into the data folder, and a private TLS key", async () => {
      const settingsText = await readFile(join(home.dir, "settings.json"), "utf8");
      assert.ok(!settingsText.includes(PASSWORD));
      const settings = JSON.parse(settingsText) as Record<string, string>;
      assert.deepEqual(
        { backend: settings.backend, user: settings.user, dataDir: settings.dataDir },
        { backend: "embedded", user: "alice", dataDir: join(home.dir, "data") },
      );
      assert.ok(
        (await readdir(join(home.dir, "data", "blobs"))).length >= 1,
        "the key root is in the data folder",
      );
      assert.equal(
        (await stat(settings.tlsKey!)).mode & 0o077,
        0,
        "the TLS key is readable by its owner only",
      );
    });

    test("the printed fingerprint is the SHA-256 of the certificate made for 127.0.0.1 and localhost", async () => {
      const settings = JSON.parse(await readFile(join(home.dir, "settings.json"), "utf8")) as Record<
        string,
        string
      >;
      const cert = new X509Certificate(await readFile(settings.tlsCert!));
      assert.match(cert.subjectAltName ?? "", /DNS:localhost/);
      assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
      const again = await runCliHere(["doctor", "--json"], { home: home.dir });
      const tls = (JSON.parse(again.stdout) as { checks: { name: string; detail: string }[] }).checks.find(
        (c) => c.name === "TLS certificate",
      );
      assert.ok(tls?.detail.includes(cert.fingerprint256), tls?.detail);
    });

    test("a second init on the same home refuses with exit code 9 and changes nothing", async () => {
      const before = await readFile(join(home.dir, "settings.json"), "utf8");
      const r = await runCliHere(["init", "--user", "bob", "--password-stdin"], {
        home: home.dir,
        input: "x\n",
      });
      assert.equal(r.code, 9);
      assert.match(r.stderr, /already set up.*AEROGRAMME_LOCAL_HOME/);
      assert.equal(await readFile(join(home.dir, "settings.json"), "utf8"), before);
    });

    test("status without a server opens the store, and with the password counts the mail", async () => {
      // 13: no server runs (as `systemctl is-active` answers 3); storage answered.
      const plain = await runCliHere(["status", "--json"], { home: home.dir });
      assert.equal(plain.code, 13, plain.stderr);
      const report = JSON.parse(plain.stdout) as Record<string, unknown>;
      assert.equal(report.running, false);
      // This home was made with --tls: status shows the certificate's fingerprint (issue 16).
      const cert = new X509Certificate(await readFile(join(home.dir, "tls", "cert.pem")));
      assert.equal((report.tls as { sha256Fingerprint: string }).sha256Fingerprint, cert.fingerprint256);
      assert.equal(report.user, "alice");
      const human = await runCliHere(["status"], { home: home.dir });
      assert.equal(human.code, 13);
      assert.match(human.stdout, /^Server: +not running/m);
      assert.ok(human.stdout.includes(`certificate SHA-256 ${cert.fingerprint256}`), human.stdout);
      assert.match(human.stdout, /^Account: +alice$/m);
      assert.match(human.stdout, /reachable, account present, \d+ ms round trip/);
      assert.deepEqual((report.storage as { reachable: boolean }).reachable, true);
      assert.equal(report.mailboxes, undefined);
      const counted = await runCliHere(["status", "--json", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(counted.code, 13, counted.stderr);
      const withMail = JSON.parse(counted.stdout) as { mailboxes: { name: string }[]; messages: number };
      assert.ok(withMail.mailboxes.some((m) => m.name === "INBOX"));
      assert.equal(withMail.messages, 0);
      const wrong = await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "wrong\n" });
      assert.equal(wrong.code, 3);
    });
  });

  // On a home of its own, so these run beside the tests above: a copy of the run's set-up home (the
  // other CLI files' password, so no template of its own: an init and its Argon2id fewer a run).
  describe("passwd on a set-up home", IN_ORDER, () => {
    const home = withSetUpHome({ password: CURRENT });

    test("passwd change: the old password no longer opens the account, the new one does", async () => {
      const change = await runCliHere(["passwd", "change", "--password-stdin"], {
        home: home.dir,
        input: `${CURRENT}\nnew one\n`,
      });
      assert.equal(change.code, 0, change.stderr);
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: `${CURRENT}\n` })).code,
        3,
      );
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "new one\n" })).code,
        13,
      );
    });

    test("passwd add then remove: both open it, then only the one kept; the last one cannot be removed", async () => {
      assert.equal(
        (
          await runCli(["passwd", "add", "--password-stdin"], {
            home: home.dir,
            input: "new one\na second one\n",
          })
        ).code,
        0,
      );
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "a second one\n" })).code,
        13,
      );
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "new one\n" })).code,
        13,
      );
      assert.equal(
        (await runCli(["passwd", "remove", "--password-stdin"], { home: home.dir, input: "new one\n" })).code,
        0,
      );
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "new one\n" })).code,
        3,
      );
      const last = await runCliHere(["passwd", "remove", "--password-stdin"], {
        home: home.dir,
        input: "a second one\n",
      });
      assert.notEqual(last.code, 0);
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "a second one\n" })).code,
        13,
      );
    });
  });

  describe("init, scripted, refusing what it cannot do", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await tempHome()));
    after(() => home.cleanup());

    test("without a password on stdin and no terminal, it says which flag is missing (2)", async () => {
      const r = await runCli(["init", "--backend", "embedded", "--user", "alice"], { home: home.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--password-stdin/);
    });

    test("an empty password line is refused (2) and nothing is written", async () => {
      const r = await runCliHere(["init", "--user", "alice", "--password-stdin"], {
        home: home.dir,
        input: "\n",
      });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /line 1 \(the account password\) is empty/);
      const list = await runCliHere(["config", "list", "--json"], { home: home.dir });
      assert.equal(
        (JSON.parse(list.stdout) as { settings: { backend?: string } }).settings.backend,
        undefined,
      );
    });

    test("a bad user name is refused by the schema's rule (2)", async () => {
      const r = await runCliHere(["init", "--user", "a b", "--password-stdin"], {
        home: home.dir,
        input: "pw\n",
      });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--user: "a b" is not an IMAP login name/);
    });

    test("garage flags with a malformed URL are a usage error; an unreachable one is storage unavailable (4)", async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const base = [
        "init",
        "--backend",
        "garage",
        "--credentials-file",
        "--user",
        "alice",
        "--region",
        "garage",
        "--bucket",
        "mail",
      ];
      const bad = await runCliHere(
        [
          ...base,
          "--s3-endpoint",
          "not a url",
          "--k2v-endpoint",
          closed,
          "--access-key-id",
          "GK1",
          "--secret-access-key-stdin",
          "--password-stdin",
        ],
        {
          home: home.dir,
          input: "secret\npw\n",
        },
      );
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--s3-endpoint: "not a url" is not a URL/);
      const down = await runCliHere(
        [
          ...base,
          "--s3-endpoint",
          closed,
          "--k2v-endpoint",
          closed,
          "--access-key-id",
          "GK1",
          "--secret-access-key-stdin",
          "--password-stdin",
        ],
        {
          home: home.dir,
          input: "secret\npw\n",
        },
      );
      assert.equal(down.code, 4, down.stderr);
      assert.ok(
        down.stderr.includes(`cannot reach the Garage S3 API at ${closed}: connection refused`),
        down.stderr,
      );
      assert.ok(!down.stderr.includes("secret"), "the secret key is never printed");
    });
  });

  describe("init joining an account already in storage", IN_ORDER, () => {
    let first: { dir: string; cleanup: () => Promise<void> };
    let second: { dir: string; cleanup: () => Promise<void> };
    before(async () => {
      first = await tempHome();
      second = await tempHome();
    });
    after(async () => {
      await first.cleanup();
      await second.cleanup();
    });

    test("keeps INBOX's id as the sealed list gives it, 0600 in the settings folder", async () => {
      const dataDir = join(first.dir, "data");
      const made = await runCliHere(["init", "--user", "alice", "--data-dir", dataDir, "--password-stdin"], {
        home: first.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(made.code, 0, made.stderr);
      const joined = await runCliHere(
        ["init", "--user", "alice", "--data-dir", dataDir, "--password-stdin"],
        {
          home: second.dir,
          input: `${PASSWORD}\n`,
        },
      );
      assert.equal(joined.code, 0, joined.stderr);
      const hint = join(second.dir, "inboxHint");
      assert.equal((await stat(hint)).mode & 0o777, 0o600);
      const store = await openEmbeddedStore(dataDir);
      try {
        const account = await openAccount(store, PASSWORD);
        const inbox = (await account.listMailboxes()).mailboxes.find((m) => m.name === "INBOX")!;
        await account.close();
        assert.equal(await readFile(hint, "utf8"), `${inbox.id}\n`);
      } finally {
        await store.close();
      }
    });
  });
});
