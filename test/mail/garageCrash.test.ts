/**
 * Issue 11 acceptance: a kill -9 during 500 pipelined APPENDs to Garage loses no acknowledged
 * message. A child appends 500 messages to a real Garage, 32 at a time (body, meta and op row of
 * each go out at once, and appends in flight together share one op row), and is killed with
 * SIGKILL partway through. Reopened from the same marks folder, every acknowledged append is there
 * with its UID and its bytes, and every message listed is whole: adds cut short by the kill were
 * withdrawn at the reopen. A second child appends one at a time, as Thunderbird files messages,
 * and is killed in turn: most of its answers waited for no mark write (sync/bayou.ts, push).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import type { StorageCredentials } from "../../src/storage/backendConfig.ts";
import { openGarageStore, type GarageConfig } from "../../src/storage/garage/index.ts";
import { skipUnless } from "../support/peers.ts";
import { garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";
import { appendThenKill, checkAfterCrash } from "./appendCrashHarness.ts";

const PASSWORD = "crash test password";
const skip = skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");
let garage: GaragePeer | undefined;
let marksDir: string;
let bucket: string;
const bucketOf = () => JSON.parse(bucket) as GarageConfig & StorageCredentials;

before(async () => {
  if (skip) return;
  garage = await startGarage({ bucket: "crash" });
  marksDir = await mkdtemp(join(tmpdir(), "agl-garage-crash-marks-"));
  bucket = JSON.stringify({
    s3Endpoint: garage.s3Endpoint,
    k2vEndpoint: garage.k2vEndpoint,
    region: garage.region,
    bucket: garage.bucket,
    accessKeyId: garage.accessKeyId,
    secretAccessKey: garage.secretAccessKey,
  });
  const store = openGarageStore(bucketOf(), bucketOf());
  const account = await createAccount(store, { user: "tester", password: PASSWORD, kdf: TEST_KDF });
  await account.close();
  await store.close();
});
after(async () => {
  await garage?.stop();
  if (marksDir) await rm(marksDir, { recursive: true, force: true });
});

test(
  "a kill -9 during 500 pipelined APPENDs to Garage (needs Garage) loses no acknowledged message",
  { skip, timeout: 300_000 },
  async () => {
    const run = await appendThenKill(
      ["garage", "500", marksDir, "32"],
      `${PASSWORD}\n${bucket}\n`,
      150,
      240_000,
    );
    assert.equal(run.signal, "SIGKILL", `the child was killed, not finished (stderr: ${run.stderr})`);
    assert.ok(run.acked.length >= 150 && run.acked.length < 500, `${run.acked.length} acknowledged`);
    const store = openGarageStore(bucketOf(), bucketOf());
    try {
      const account = await openAccount(store, PASSWORD, { marksDir });
      const listed = await checkAfterCrash(account, run.acked);
      console.log(`# ${run.acked.length} acknowledged before the kill, ${listed} in INBOX after`);
      await account.close();
    } finally {
      await store.close();
    }
  },
);

test(
  "a kill -9 during APPENDs one at a time to Garage (needs Garage) loses no acknowledged message",
  { skip, timeout: 300_000 },
  async () => {
    // One at a time, most answers wait for no mark write (Bayou.push: the pieces were stored
    // before the row went, and a mark carrying `unpublished` was already durable): the kill
    // lands among mark writes still on their way.
    const run = await appendThenKill(
      ["garage", "500", marksDir, "1"],
      `${PASSWORD}\n${bucket}\n`,
      60,
      240_000,
    );
    assert.equal(run.signal, "SIGKILL", `the child was killed, not finished (stderr: ${run.stderr})`);
    assert.ok(run.acked.length >= 60 && run.acked.length < 500, `${run.acked.length} acknowledged`);
    const store = openGarageStore(bucketOf(), bucketOf());
    try {
      const account = await openAccount(store, PASSWORD, { marksDir });
      const listed = await checkAfterCrash(account, run.acked);
      console.log(
        `# ${run.acked.length} acknowledged one at a time before the kill, ${listed} in INBOX after`,
      );
      await account.close();
    } finally {
      await store.close();
    }
  },
);
