/**
 * `passwd rekey` with the real binary on the embedded backend: killed with SIGKILL mid-job, the
 * next run resumes and finishes; then an old copy of the key root and its password open nothing
 * in the store, mail, flags and mailboxes read the same over IMAP, this home delivers again (its
 * pin moved to the new key), and a second home on the same data folder delivers again once it
 * unlocked. Through a running server, `status --json` shows the job. The rekeys and servers are
 * the binary; the set-up and the checks that follow (import, init of the second home, deliver,
 * status) run in this process (runCliHere). The first home is a copy of the one init set up for
 * the run (cliHarness.ts, copyHome), whose password entry has light Argon2id parameters until the
 * first rekey writes init's.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseKeyRoot, unlockKeyRoot, type UnlockedKeys } from "../../src/crypto/keyRoot.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { openAccount } from "../../src/mail/account.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { oldKeyScan } from "../support/oldKeyScan.ts";
import { RawImap } from "../support/rawImap.ts";
import {
  BIN,
  CLI_PASSWORD,
  cliEnv,
  REPO,
  runCli,
  setUpHome,
  startServer,
  tempHome,
  type RunningServer,
} from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The same as the other CLI files', so that this home is a copy of theirs (cliHarness.ts). */
const PASSWORD = CLI_PASSWORD;
const MESSAGES = 1500;
let home: { dir: string; cleanup: () => Promise<void> };
let other: { dir: string; cleanup: () => Promise<void> };
let server: RunningServer | undefined;
const data = () => join(home.dir, "data");

before(async () => {
  await loadSodium();
  home = await setUpHome({ password: PASSWORD });
  other = await tempHome();
  const lines: string[] = [];
  for (let i = 0; i < MESSAGES; i++)
    lines.push(`From a@example.org Sat Jan  1 00:00:00 2000`, `Subject: m${i}`, "", `body ${i}`, "");
  const mbox = join(home.dir, "in.mbox");
  await writeFile(mbox, lines.join("\n"));
  const imported = await runCliHere(["import", mbox, "--password-stdin"], {
    home: home.dir,
    input: `${PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(imported.code, 0, imported.stderr);
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

async function session(port: number): Promise<RawImap> {
  const c = await RawImap.connect(port);
  await c.readLine();
  assert.match((await c.command(`LOGIN alice "${PASSWORD}"`)).at(-1)!, /OK/);
  return c;
}

async function readRoot(): Promise<Uint8Array> {
  const store = await openEmbeddedStore(data());
  try {
    return (await store.blobs.get("keys/root"))!;
  } finally {
    await store.close();
  }
}

/** What the old keys open in the store now, and the mailbox ids (read with the password). */
async function scanWith(old: UnlockedKeys) {
  const store = await openEmbeddedStore(data());
  try {
    const account = await openAccount(store, PASSWORD);
    const ids = (await account.listMailboxes()).mailboxes.map((m) => m.id);
    await account.close();
    return await oldKeyScan(store, old, ids);
  } finally {
    await store.close();
  }
}

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
  const old = await unlockKeyRoot(parseKeyRoot(await readRoot()), PASSWORD);

  const first = await rekeyKilledMidJob();
  assert.ok(first.killed, `the job was killed while re-sealing meta rows:\n${first.stderr}`);
  const midway = await unlockKeyRoot(parseKeyRoot(await readRoot()), PASSWORD);
  assert.equal(midway.epoch, 1);
  assert.equal(midway.previous.length, 1, "the key root still carries the old epoch: the job is open");
  assert.ok((await scanWith(old)).opened.length > 0, "killed with work left");

  const second = await runCli(["passwd", "rekey", "--password-stdin"], {
    home: home.dir,
    input: `${PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(second.code, 0, second.stderr + second.stdout);
  assert.match(second.stderr, /resuming the unfinished rekey to key epoch 1/);
  assert.match(second.stdout, /Rekeyed/);
  const done = await unlockKeyRoot(parseKeyRoot(await readRoot()), PASSWORD);
  assert.equal(done.previous.length, 0);
  const scan = await scanWith(old);
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

test("through a running server, passwd rekey runs in the background and status --json shows it", async () => {
  server ??= await startServer(["--imap-port", "0"], { home: home.dir });
  const before = await unlockKeyRoot(parseKeyRoot(await runRootViaServer()), PASSWORD);
  const r = await runCli(["passwd", "rekey", "--password-stdin"], {
    home: home.dir,
    input: `${PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /by the running server/);
  const status = await runCli(["status", "--json"], { home: home.dir });
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
  const scan = await scanWith(before);
  assert.deepEqual(scan.opened, []);
});

/** The key root read while the server runs: through a second reader of the data folder is not allowed, so via status. */
async function runRootViaServer(): Promise<Uint8Array> {
  assert.ok(server);
  assert.equal(await server.stop(), 0);
  const root = await readRoot();
  server = await startServer(["--imap-port", "0"], { home: home.dir });
  return root;
}

test("a server killed mid-job resumes the rekey at its next login and status --json shows it done", async () => {
  const old = await unlockKeyRoot(parseKeyRoot(await readRoot()), PASSWORD);
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
  const midway = await unlockKeyRoot(parseKeyRoot(await readRoot()), PASSWORD);
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
  assert.equal((await unlockKeyRoot(parseKeyRoot(await readRoot()), PASSWORD)).previous.length, 0);
  assert.deepEqual((await scanWith(old)).opened, []);
});
