/**
 * `passwd rekey` through a running server (the binary): the job runs in the background and
 * `status --json` shows it; a server killed mid-job resumes it at its next login. On a home of its
 * own (rekeyHome.ts), so that it runs beside rekey.test.ts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { BIN, cliEnv, REPO, runCli, startServer, type RunningServer } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";
import { importedHome, PASSWORD, scanWith, session, unlockStored } from "./rekeyHome.ts";

let home: { dir: string; cleanup: () => Promise<void> };
let server: RunningServer | undefined;
const data = () => join(home.dir, "data");

before(async () => {
  await loadSodium();
  home = await importedHome();
});
after(async () => {
  await server?.stop("SIGKILL");
  await home.cleanup();
});

test("through a running server, passwd rekey runs in the background and status --json shows it", async () => {
  // The key root before the rekey, read while no server holds the data folder (a second reader of
  // it is not allowed): a start does not change it.
  const before = await unlockStored(data());
  server = await startServer(["--imap-port", "0"], { home: home.dir });
  const r = await runCli(["passwd", "rekey", "--password-stdin"], {
    home: home.dir,
    input: `${PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /by the running server/);
  const status = await runCliHere(["status", "--json"], { home: home.dir });
  const report = JSON.parse(status.stdout) as {
    rekey?: { state: string; progress?: { epoch: number; phase: string } };
  };
  assert.equal(report.rekey?.state, "done");
  assert.equal(report.rekey?.progress?.epoch, before.epoch + 1);
  // The sessions of the running server write under the new key at once.
  const c = await session(server.port);
  await c.command("SELECT INBOX");
  assert.match((await c.command("STORE 1 +FLAGS (\\Seen)")).at(-1)!, /OK/);
  c.close();
  assert.equal(await server.stop(), 0);
  server = undefined;
  const scan = await scanWith(data(), before);
  assert.deepEqual(scan.opened, []);
});

test("a server killed mid-job resumes the rekey at its next login and status --json shows it done", async () => {
  const old = await unlockStored(data());
  server = await startServer(["--imap-port", "0"], { home: home.dir });
  const running = server;
  const follower = spawn(process.execPath, [BIN, "passwd", "rekey", "--password-stdin", "--progress"], {
    env: cliEnv(home.dir),
    cwd: REPO,
  });
  let progress = "";
  let killed = false;
  const ended = new Promise<void>((resolve) => follower.on("close", () => resolve()));
  const timer = setTimeout(() => follower.kill("SIGKILL"), 120_000);
  follower.stderr.on("data", (d) => {
    progress += d;
    // The first line that shows the job under way: the server's job is followed by polling, and a
    // small account's job can pass every phase between two polls.
    if (!killed && /: (mailbox list|indexes|meta|incoming|queue|checking) \d+\/\d+/.test(progress)) {
      killed = true;
      running.child.kill("SIGKILL");
    }
  });
  follower.stdin.end(`${PASSWORD}\n`);
  await ended;
  clearTimeout(timer);
  assert.ok(killed, `the server was killed while the job ran:\n${progress}`);
  await running.stop();
  const midway = await unlockStored(data());
  assert.equal(midway.epoch, old.epoch + 1);
  assert.equal(midway.previous.length, 1, "the job is still open");

  server = await startServer(["--imap-port", "0"], { home: home.dir });
  const c = await session(server.port); // the first login resumes the job
  c.close();
  let state: string | undefined;
  for (let i = 0; i < 240 && state !== "done"; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const status = await runCliHere(["status", "--json"], { home: home.dir });
    state = (JSON.parse(status.stdout) as { rekey?: { state: string } }).rekey?.state;
    assert.notEqual(state, "failed", status.stdout);
  }
  assert.equal(state, "done");
  assert.match(server.stderr(), /resuming the rekey/);
  assert.equal(await server.stop(), 0);
  server = undefined;
  assert.equal((await unlockStored(data())).previous.length, 0);
  assert.deepEqual((await scanWith(data(), old)).opened, []);
});
