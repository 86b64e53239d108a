/**
 * `service install|uninstall|status` (issue 16): the unit it writes passes `systemd-analyze verify`,
 * and what its ExecStart and Environment say starts the server on the same home and serves IMAP.
 * This machine has no user systemd to run the unit under, so the test runs its command line itself.
 * install, uninstall and --print run the binary (the unit names it); `service status` and the
 * `config set` before a start run in this process (inProcess.ts): their subject is what they read
 * and write.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { CLI_PASSWORD, freePort, runCli, withSetUpHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

const analyze = findExecutable("systemd-analyze");
const noAnalyze = skipUnless(Boolean(analyze), "systemd-analyze", "apt-get install systemd");

/** The unit's Environment= and ExecStart= lines, unquoted as systemd would (enough for ours). */
function parseUnit(text: string): { env: Record<string, string>; argv: string[] } {
  const unquote = (word: string) => (word.startsWith('"') ? word.slice(1, -1).replace(/\\(.)/g, "$1") : word);
  const env: Record<string, string> = {};
  let argv: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^(Environment|ExecStart)=(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "Environment") {
      const [k, ...v] = unquote(m[2]!).split("=");
      env[k!] = v.join("=");
    } else argv = (m[2]!.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map(unquote);
  }
  return { env, argv };
}

describe("service install on a home", () => {
  const home = withSetUpHome({ password: CLI_PASSWORD });
  let xdg: string;
  before(async () => {
    xdg = join(home.dir, "xdg-config");
    await mkdir(xdg);
  });

  test("--print writes nothing; the unit passes systemd-analyze verify", { skip: noAnalyze }, async () => {
    const r = await runCli(["service", "install", "--print"], {
      home: home.dir,
      env: { XDG_CONFIG_HOME: xdg },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ExecStart=.*bin\/aerogramme-local\.js start$/m);
    assert.match(r.stdout, new RegExp(`^Environment=AEROGRAMME_LOCAL_HOME=${home.dir}$`, "m"));
    assert.match(r.stdout, /^Restart=on-failure$/m);
    assert.equal(existsSync(join(xdg, "systemd")), false);
    const unit = join(home.dir, "aerogramme-local-test.service");
    await writeFile(unit, r.stdout);
    const runtime = join(home.dir, "runtime");
    await mkdir(runtime, { mode: 0o700 });
    const verify = spawnSync(analyze!, ["verify", "--user", unit], {
      encoding: "utf8",
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      timeout: 30_000,
    });
    assert.equal(verify.status, 0, `${verify.stdout}${verify.stderr}`);
    // The check can fail: a unit whose command does not exist is refused.
    await writeFile(unit, r.stdout.replace(/^ExecStart=\S+/m, "ExecStart=/nonexistent/aerogramme-local"));
    const broken = spawnSync(analyze!, ["verify", "--user", unit], {
      encoding: "utf8",
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      timeout: 30_000,
    });
    assert.notEqual(broken.status, 0);
  });

  test("what the unit's ExecStart says starts the server on this home, and IMAP answers", async () => {
    const r = await runCli(["service", "install", "--print"], { home: home.dir });
    const { env, argv } = parseUnit(r.stdout);
    assert.equal(env.AEROGRAMME_LOCAL_HOME, home.dir);
    const port = await freePort();
    assert.equal((await runCliHere(["config", "set", "imapPort", String(port)], { home: home.dir })).code, 0);
    // Only the unit's environment (as systemd gives a user service: no AEROGRAMME_LOCAL_HOME of ours).
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...env, HOME: process.env.HOME ?? "" } });
    try {
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const deadline = Date.now() + 60_000;
      while (
        !/IMAP listening on 127\.0\.0\.1:\d+/.test(out) &&
        Date.now() < deadline &&
        child.exitCode === null
      )
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, new RegExp(`IMAP listening on 127\\.0\\.0\\.1:${port}`), out);
      const greeting = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        socket.setEncoding("utf8");
        socket.once("data", (d: string) => {
          socket.destroy();
          resolve(d);
        });
        socket.once("error", reject);
      });
      assert.match(greeting, /^\* OK/);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  });

  test("install writes the unit where systemd looks, says what to run without a user bus; uninstall removes it", async () => {
    const env = { XDG_CONFIG_HOME: xdg, DBUS_SESSION_BUS_ADDRESS: undefined, XDG_RUNTIME_DIR: undefined };
    const r = await runCli(["service", "install"], { home: home.dir, env });
    assert.equal(r.code, 0, r.stderr);
    const written = /Wrote (\S+)/.exec(r.stdout)?.[1] ?? "";
    assert.ok(written.startsWith(join(xdg, "systemd", "user", "aerogramme-local-")), r.stdout);
    assert.match(await readFile(written, "utf8"), /ExecStart=/);
    const status = await runCliHere(["service", "status", "--json"], { home: home.dir, env });
    assert.equal((JSON.parse(status.stdout) as { installed: boolean }).installed, true);
    const gone = await runCli(["service", "uninstall"], { home: home.dir, env });
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(existsSync(written), false);
    assert.equal((await runCliHere(["service", "status"], { home: home.dir, env })).code, 6);
  });
});
