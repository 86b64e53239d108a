/**
 * `passwd rekey` with the real binary on the embedded backend: killed with SIGKILL mid-job, the
 * next run resumes and finishes; then an old copy of the key root and its password open nothing
 * in the store, mail, flags and mailboxes read the same over IMAP, this home delivers again (its
 * pin moved to the new key), and a second home on the same data folder delivers again once it
 * unlocked. The rekeys and servers are the binary; the set-up and the checks that follow (import,
 * init of the second home, deliver, status) run in this process (runCliHere). The rekeys by a
 * running server are in rekeyServer.test.ts, on a home of their own, so the two files run at once.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { BIN, cliEnv, REPO, runCli, startServer, tempHome, type RunningServer } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";
import { copyTree } from "../support/copyTree.ts";
import { importedHome, MESSAGES, PASSWORD, scanWith, session, unlockStored } from "./rekeyHome.ts";

let home: { dir: string; cleanup: () => Promise<void> };
let other: { dir: string; cleanup: () => Promise<void> };
let server: RunningServer | undefined;
const data = () => join(home.dir, "data");

before(async () => {
  await loadSodium();
  home = await importedHome();
  other = await tempHome();
  // A second home on the same data folder, unlocked once: it pinned the old public key.
  const joined = await runCliHere(["init", "--user", "alice", "--data-dir", data(), "--password-stdin"], {
    home: other.dir,
    input: `${PASSWORD}\n`,
  });
  assert.equal(joined.code, 0, joined.stderr);
});
after(async () => {
  await server?.stop("SIGKILL");
  await home.cleanup();
  await other.cleanup();
});

/**
 * The FETCH lines of an answer: a delivery filed meanwhile adds `* N EXISTS` and `* 1 RECENT`
 * lines, which say nothing of the messages compared.
 */
function fetched(lines: string[]): string {
  return lines.filter((l) => /^\* \d+ FETCH /.test(l)).join("\n");
}

/** Runs `passwd rekey` and SIGKILLs it once its progress shows meta rows being re-sealed. */
function rekeyKilledMidJob(): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "passwd", "rekey", "--password-stdin", "--progress"], {
      env: cliEnv(home.dir),
      cwd: REPO,
    });
    let stderr = "";
    let killed = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stderr.on("data", (d) => {
      stderr += d;
      const m = /: meta (\d+)\/(\d+)/.exec(stderr);
      if (!killed && m && Number(m[1]) > 0 && Number(m[1]) < Number(m[2])) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve({ killed, stderr });
    });
    child.stdin.end(`${PASSWORD}\n`);
  });
}

/**
 * Kills `passwd rekey` mid-job, until the kill leaves rows sealed under the old keys. The kill is
 * sent when the progress shows meta rows being re-sealed, but on a loaded machine this process may
 * read that line only after the job re-sealed the rest: then the run tested nothing, the home is
 * put back as it was before it, and the job is killed again (at most three times).
 */
async function rekeyKilledWithWorkLeft(old: Parameters<typeof scanWith>[1]): Promise<void> {
  const before = `${home.dir}.before-rekey`;
  await copyTree(home.dir, before);
  try {
    for (let attempt = 1; ; attempt++) {
      const run = await rekeyKilledMidJob();
      assert.ok(run.killed, `the job was killed while re-sealing meta rows:\n${run.stderr}`);
      if ((await scanWith(data(), old)).opened.length > 0) return;
      assert.ok(
        attempt < 3,
        "killed with work left: in 3 tries the job re-sealed everything before the kill",
      );
      await rm(home.dir, { recursive: true, force: true });
      await copyTree(before, home.dir);
    }
  } finally {
    await rm(before, { recursive: true, force: true });
  }
}

test("passwd rekey killed mid-job resumes; then the old keys open nothing and IMAP shows the same mail", async () => {
  server = await startServer(["--imap-port", "0"], { home: home.dir });
  let c = await session(server.port);
  assert.match((await c.command("CREATE Projects")).at(-1)!, /OK/);
  await c.command("SELECT INBOX");
  assert.match((await c.command("STORE 1:5 +FLAGS (\\Flagged)")).at(-1)!, /OK/);
  const flagsBefore = fetched(await c.command("FETCH 1:10 (FLAGS)"));
  const bodyBefore = fetched(await c.command("FETCH 7 (BODY.PEEK[])"));
  c.close();
  assert.equal(await server.stop(), 0);
  server = undefined;
  const old = await unlockStored(data());

  await rekeyKilledWithWorkLeft(old);
  const midway = await unlockStored(data());
  assert.equal(midway.epoch, 1);
  assert.equal(midway.previous.length, 1, "the key root still carries the old epoch: the job is open");

  const second = await runCli(["passwd", "rekey", "--password-stdin"], {
    home: home.dir,
    input: `${PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(second.code, 0, second.stderr + second.stdout);
  assert.match(second.stderr, /resuming the unfinished rekey to key epoch 1/);
  assert.match(second.stdout, /Rekeyed/);
  const done = await unlockStored(data());
  assert.equal(done.previous.length, 0);
  const scan = await scanWith(data(), old);
  assert.deepEqual(scan.opened, []);
  assert.ok(scan.checked > MESSAGES, `every meta row was looked at (${scan.checked})`);

  // This home re-pinned the new key: deliver works; the other home refuses until it unlocks.
  const delivered = await runCliHere(["deliver"], { home: home.dir, input: "Subject: after\n\nafter\n" });
  assert.equal(delivered.code, 0, delivered.stderr);
  const stale = await runCliHere(["deliver"], { home: other.dir, input: "Subject: stale\n\nx\n" });
  assert.equal(stale.code, 8, stale.stderr);
  const unlocked = await runCliHere(["status", "--password-stdin"], {
    home: other.dir,
    input: `${PASSWORD}\n`,
  });
  assert.equal(unlocked.code, 13, unlocked.stderr); // opened; no server runs for that home
  assert.match(unlocked.stdout, new RegExp(`${MESSAGES} messages\\b`));
  const again = await runCliHere(["deliver"], {
    home: other.dir,
    input: "Subject: other\n\nfrom the other home\n",
  });
  assert.equal(again.code, 0, again.stderr);

  server = await startServer(["--imap-port", "0"], { home: home.dir });
  c = await session(server.port);
  assert.match((await c.command('LIST "" "*"')).join("\n"), /Projects/);
  const select = (await c.command("SELECT INBOX")).join("\n");
  assert.match(select, /\* (\d+) EXISTS/);
  assert.equal(Number(/\* (\d+) EXISTS/.exec(select)![1]) >= MESSAGES, true);
  assert.equal(fetched(await c.command("FETCH 1:10 (FLAGS)")), flagsBefore);
  assert.equal(fetched(await c.command("FETCH 7 (BODY.PEEK[])")), bodyBefore);
  c.close();
});
