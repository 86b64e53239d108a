import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { runCli, tempHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

describe("config, help and usage", { concurrency: true }, () => {
  // The first `config list`, `get` and `unset`, `bogus` and the root `--help` run the binary; the
  // rest run in this process (runCliHere): their subject is the settings file and the parsing.
  describe("config get/set/list", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await tempHome()));
    after(() => home.cleanup());

    test("a fresh home lists the defaults and gets one of them", async () => {
      const list = await runCli(["config", "list", "--json"], { home: home.dir });
      assert.equal(list.code, 0, list.stderr);
      const parsed = JSON.parse(list.stdout) as { file: string; settings: Record<string, unknown> };
      assert.equal(parsed.file, join(home.dir, "settings.json"));
      assert.deepEqual(
        { host: parsed.settings.imapHost, port: parsed.settings.imapPort, lmtp: parsed.settings.lmtpPort },
        { host: "127.0.0.1", port: 1143, lmtp: 0 },
      );
      const get = await runCli(["config", "get", "imapPort"], { home: home.dir });
      assert.equal(get.stdout, "1143\n");
    });

    test("set stores a valid value as its JSON type, in a file only the owner can read", async () => {
      const set = await runCliHere(["config", "set", "imapPort", "1144"], { home: home.dir });
      assert.equal(set.code, 0, set.stderr);
      const file = JSON.parse(await readFile(join(home.dir, "settings.json"), "utf8")) as Record<
        string,
        unknown
      >;
      assert.equal(file.imapPort, 1144);
      assert.equal((await stat(join(home.dir, "settings.json"))).mode & 0o077, 0);
      assert.equal((await runCliHere(["config", "get", "imapPort"], { home: home.dir })).stdout, "1144\n");
      const list = await runCliHere(["config", "list"], { home: home.dir });
      assert.match(list.stdout, /^imapPort = 1144$/m);
      assert.match(list.stdout, /^imapHost = 127\.0\.0\.1 {2}\(default\)$/m);
    });

    test("the schema refuses a bad value with exit code 2 and leaves the file unchanged", async () => {
      const before = await readFile(join(home.dir, "settings.json"), "utf8");
      for (const [key, value, why] of [
        ["imapPort", "70000", /imapPort.*65535/],
        ["imapPort", "twelve", /imapPort.*integer/],
        ["s3Endpoint", "ftp://x", /s3Endpoint.*http/],
        ["bucket", "No_Caps", /bucket name/],
        ["logLevel", "chatty", /logLevel/],
        ["user", "two words", /IMAP login name/],
      ] as const) {
        const r = await runCliHere(["config", "set", key, value], { home: home.dir });
        assert.equal(r.code, 2, `${key}=${value}: ${r.stderr}`);
        assert.match(r.stderr, why);
      }
      assert.equal(await readFile(join(home.dir, "settings.json"), "utf8"), before);
    });

    test("unknown keys, secrets and keychainAccount cannot be set", async () => {
      const unknown = await runCliHere(["config", "set", "secretAccessKey", "x"], { home: home.dir });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown setting "secretAccessKey".*keychain/);
      const account = await runCliHere(["config", "set", "keychainAccount", "x"], { home: home.dir });
      assert.equal(account.code, 2);
      const get = await runCliHere(["config", "get", "nope"], { home: home.dir });
      assert.equal(get.code, 2);
    });

    test("unset brings a setting back to its default", async () => {
      const r = await runCli(["config", "unset", "imapPort"], { home: home.dir });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /default: 1143/);
    });

    test("a hand-broken settings file is reported with how to fix it", async () => {
      const broken = await tempHome();
      try {
        await runCliHere(["config", "set", "imapPort", "1200"], { home: broken.dir });
        const { writeFile } = await import("node:fs/promises");
        await writeFile(join(broken.dir, "settings.json"), JSON.stringify({ imapPort: -5 }));
        const r = await runCliHere(["config", "list"], { home: broken.dir });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /settings file .* is not valid .*imapPort.*config set/);
      } finally {
        await broken.cleanup();
      }
    });
  });

  // Its tests only read the home (never set up), so they run at once too.
  describe("help and usage", { concurrency: true }, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await tempHome()));
    after(() => home.cleanup());

    test("every command has --help, which exits 0", async () => {
      const commands = [
        [],
        ["init"],
        ["start"],
        ["status"],
        ["doctor"],
        ["passwd"],
        ["passwd", "add"],
        ["passwd", "change"],
        ["passwd", "remove"],
        ["deliver"],
        ["import"],
        ["export"],
        ["config"],
        ["config", "get"],
        ["config", "set"],
        ["config", "list"],
        ["reset"],
        ["service"],
        ["service", "install"],
        ["completion"],
      ];
      // The binary's own --help once, and start's (runCliHere leaves serving commands to the
      // binary); the others in this process (commander prints them all alike).
      const results = await Promise.all(
        commands.map((c) =>
          (c.length === 0 || c[0] === "start" ? runCli : runCliHere)([...c, "--help"], { home: home.dir }),
        ),
      );
      results.forEach((r, i) => {
        assert.equal(r.code, 0, `${commands[i]!.join(" ")} --help: ${r.stderr}`);
        assert.match(r.stdout, /Usage: aerogramme-local/);
      });
    });

    test("an unknown command or option is a usage error (2)", async () => {
      assert.equal((await runCli(["bogus"], { home: home.dir })).code, 2);
      assert.equal((await runCli(["start", "--imap-port", "99999"], { home: home.dir })).code, 2);
      assert.equal((await runCliHere(["init", "--backend", "ftp"], { home: home.dir })).code, 2);
    });

    test("commands that need a set-up home say to run init (6)", async () => {
      for (const args of [
        ["status"],
        ["passwd", "add", "--password-stdin"],
        ["import", "/nonexistent", "--password-stdin"],
      ]) {
        const r = await runCliHere(args, { home: home.dir, input: "a\nb\n" });
        assert.equal(r.code, 6, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /aerogramme-local init/);
      }
    });
  });
});
