/**
 * Messages that say what to do (issue 16): each names the fix, and each exit code is the
 * documented one (docs/cli.md, "Exit codes"). `start` runs the binary; the other commands run in
 * this process (runCliHere): their subject is the message and the code.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI_PASSWORD, freePort, runCli, startServer, tempHome, withRunningServer } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("a port another program holds", () => {
  const home = withRunningServer({ password: PASSWORD, start: "manual" });
  let holder: Server;
  let port: number;
  before(async () => {
    port = await freePort();
    holder = await listenOn(port);
  });
  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  test("start --imap-port N: exit 12, the port, who holds it, and the flag to change", async () => {
    const r = await runCli(["start", "--imap-port", String(port)], { home: home.dir });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, new RegExp(`the IMAP port ${port} is already in use`));
    // This test's own process listens there: /proc shows it.
    assert.match(r.stderr, new RegExp(`process ${process.pid} \\(`));
    assert.match(r.stderr, /--imap-port N/);
    assert.doesNotMatch(r.stderr, /unexpected error|EADDRINUSE/);
  });

  test("--log-file gets the log, refusals included, readable by this user only", async () => {
    const file = join(home.dir, "logs", "server.log");
    await mkdir(join(home.dir, "logs"));
    const r = await runCli(["start", "--imap-port", String(port), "--log-file", file], { home: home.dir });
    assert.equal(r.code, 12, r.stderr);
    const text = await readFile(file, "utf8");
    assert.match(text, /opening storage: embedded/);
    assert.match(text, new RegExp(`ERROR the IMAP port ${port} is already in use`));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  test("the imapPort setting: the message names `config set imapPort N`", async () => {
    assert.equal((await runCliHere(["config", "set", "imapPort", String(port)], { home: home.dir })).code, 0);
    const r = await runCli(["start"], { home: home.dir });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /aerogramme-local config set imapPort N/);
    assert.equal((await runCliHere(["config", "unset", "imapPort"], { home: home.dir })).code, 0);
  });

  test("config set while the server runs says the server needs a restart", async () => {
    const server = await home.start();
    const r = await runCliHere(["config", "set", "logLevel", "debug"], { home: home.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`server running now \\(pid ${server.child.pid}\\) keeps the old value`),
    );
    await server.stop();
    const quiet = await runCliHere(["config", "set", "logLevel", "info"], { home: home.dir });
    assert.doesNotMatch(quiet.stderr, /restart|keeps the old value/);
  });
});

describe("first run with --imap-port, scripted", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempHome()));
  after(() => cleanup());

  test("the printed client settings give the port it listens on, and no `Next: run start`", async () => {
    const port = await freePort();
    const server = await startServer(["--imap-port", String(port), "--user", "bob", "--password-stdin"], {
      home: dir,
      input: `${PASSWORD}\n`,
    });
    try {
      assert.equal(server.port, port);
      assert.match(server.stderr(), new RegExp(`Port: +${port}\\n`));
      assert.doesNotMatch(server.stderr(), /Port: +1143|Next: run/);
      assert.match(server.stderr(), /Outgoing server: +your mail provider's SMTP server/);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});

describe("config refuses and explains", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempHome()));
  after(() => cleanup());

  test("a relative dataDir becomes the absolute path it means, and says so", async () => {
    const r = await runCliHere(["config", "set", "dataDir", "mail-here"], { home: dir });
    assert.equal(r.code, 0, r.stderr);
    // The folder the command runs in (this process's).
    const absolute = join(process.cwd(), "mail-here");
    assert.equal(r.stdout, `dataDir = ${absolute}\n`);
    assert.match(r.stderr, /taken from the current folder/);
  });

  test("a value out of an enumeration names the allowed values (exit 2)", async () => {
    const r = await runCliHere(["config", "set", "logLevel", "loud"], { home: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /`logLevel` must be one of: debug, info, warn, error/);
  });

  test("a bad user name is explained in words, with no piece of a regex", async () => {
    const r = await runCliHere(["config", "set", "user", 'a "b"'], { home: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /`user` must be an IMAP login name \(no spaces, quotes or control characters\)/);
    assert.doesNotMatch(r.stderr, /pattern|\^\[|\\x00/);
  });

  test("imapHost 0.0.0.0 is kept, with a word about --allow-remote and TLS", async () => {
    const r = await runCliHere(["config", "set", "imapHost", "0.0.0.0"], { home: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /reachable from other computers: `start` refuses it unless given --allow-remote/);
  });
});

describe("looking does not make a home", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempHome()));
  after(() => cleanup());

  test("doctor and status on a home that does not exist: exit 1 and 6, nothing created", async () => {
    const missing = join(dir, "not-here");
    const doctor = await runCliHere(["doctor"], { home: missing });
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /does not exist/);
    assert.match(doctor.stdout, /fix: run `aerogramme-local init`/);
    const status = await runCliHere(["status"], { home: missing });
    assert.equal(status.code, 6);
    assert.equal(existsSync(missing), false);
  });
});

describe("help", () => {
  test("--help lists every exit code, 130 included; config set --help lists the keys", async () => {
    const top = await runCliHere(["--help"], { home: "/nonexistent-agl-home" });
    for (const code of [
      "11 a file or folder",
      "12 port in use",
      "13 not running",
      "65 not a message",
      "75 try again later",
      "130 interrupted",
    ])
      assert.ok(top.stdout.includes(code), `--help lacks "${code}":\n${top.stdout}`);
    const set = await runCliHere(["config", "set", "--help"], { home: "/nonexistent-agl-home" });
    for (const key of ["imapPort", "cache", "cacheMaxBytes", "logFile", "logLevel"])
      assert.match(set.stdout, new RegExp(`^  ${key} `, "m"));
    assert.match(set.stdout, /debug, info, warn, error/);
  });
});
