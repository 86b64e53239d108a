/**
 * Issue 2 acceptance: crash safety. A child process appends 500 messages to an embedded store and
 * prints each one as its append returns; it is killed with SIGKILL partway through. After
 * reopening (with the marks folder the child used, as a restarted server has), every append that
 * had returned is there, with its UID, and reads back byte for byte; nothing half-written is listed.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { appendThenKill, checkAfterCrash } from "./appendCrashHarness.ts";

const PASSWORD = "crash test password";
let dir: string;
let marksDir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-crash-"));
  marksDir = await mkdtemp(join(tmpdir(), "agl-crash-marks-"));
  const store = await openEmbeddedStore(dir);
  const account = await createAccount(store, { user: "tester", password: PASSWORD, kdf: TEST_KDF });
  await account.close();
  await store.close();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(marksDir, { recursive: true, force: true });
});

test("a child killed with SIGKILL while appending loses no acknowledged append; all read back byte for byte", async () => {
  const first = await appendThenKill([dir, "500", marksDir], PASSWORD + "\n", 120);
  assert.equal(first.signal, "SIGKILL", `the child was killed, not finished (stderr: ${first.stderr})`);
  assert.ok(first.acked.length >= 120 && first.acked.length < 500, `${first.acked.length} acknowledged`);
  // A second run appends on top of what the first left, many at once, and is killed in turn.
  const second = await appendThenKill([dir, "500", marksDir, "16"], PASSWORD + "\n", 60);
  assert.equal(second.signal, "SIGKILL", second.stderr);

  const store = await openEmbeddedStore(dir);
  try {
    const account = await openAccount(store, PASSWORD, { marksDir });
    const listed = await checkAfterCrash(account, [...first.acked, ...second.acked]);
    console.log(
      `# ${first.acked.length} + ${second.acked.length} acknowledged before the kills, ${listed} in INBOX after`,
    );
    await account.close();
  } finally {
    await store.close();
  }
});
