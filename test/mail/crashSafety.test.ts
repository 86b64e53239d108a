/**
 * Issue 2 acceptance: crash safety. A child process appends 500 messages to an embedded store and
 * prints each one as its append returns; it is killed with SIGKILL partway through. After
 * reopening, every append that had returned is there, with its UID, and reads back byte for byte.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "crash test password";
const CHILD = join(import.meta.dirname, "fixtures", "appendMany.ts");
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-crash-"));
  const store = await openEmbeddedStore(dir);
  const account = await createAccount(store, { user: "tester", password: PASSWORD, kdf: TEST_KDF });
  await account.close();
  await store.close();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Acked {
  i: number;
  uid: number;
  mailId: string;
}

/** Runs the child until `killAfter` appends were acknowledged (or 60 s), then SIGKILLs it. */
function appendThenKill(
  killAfter: number,
): Promise<{ acked: Acked[]; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, "500"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const acked: Acked[] = [];
    let pending = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!; // a line cut by the kill is not an acknowledgement
      for (const line of lines) {
        const [i, uid, mailId] = line.split(" ");
        if (mailId === undefined) continue; // "ready"
        acked.push({ i: Number(i), uid: Number(uid), mailId });
        if (acked.length === killAfter) child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (_code, signal) => {
      clearTimeout(timer);
      resolve({ acked, signal, stderr });
    });
    child.stdin.end(PASSWORD + "\n");
  });
}

test("a child killed with SIGKILL while appending loses no acknowledged append; all read back byte for byte", async () => {
  const first = await appendThenKill(120);
  assert.equal(first.signal, "SIGKILL", `the child was killed, not finished (stderr: ${first.stderr})`);
  assert.ok(first.acked.length >= 120 && first.acked.length < 500, `${first.acked.length} acknowledged`);
  // A second run appends on top of what the first left, and is killed in turn.
  const second = await appendThenKill(60);
  assert.equal(second.signal, "SIGKILL", second.stderr);

  const store = await openEmbeddedStore(dir);
  try {
    const account = await openAccount(store, PASSWORD);
    const inbox = await account.mailbox("INBOX");
    const all = [...first.acked, ...second.acked];
    for (const { i, uid, mailId } of all) {
      const entry = inbox.index.byId.get(mailId);
      assert.ok(entry, `acknowledged append ${i} (${mailId}) is in INBOX`);
      assert.equal(entry.uid, uid, `append ${i} kept the UID it was given`);
      const meta = await account.messages.meta(mailId);
      assert.deepEqual(
        await account.messages.body(meta),
        sampleMessage(i, { bodyLines: i % 50 === 0 ? 3000 : undefined }),
      );
    }
    // Whatever landed without being acknowledged is whole too: nothing half-written is listed.
    for (const entry of inbox.index.byId.values()) {
      await account.messages.body(await account.messages.meta(entry.id));
    }
    assert.ok(inbox.index.uids.length >= all.length);
    console.log(
      `# ${first.acked.length} + ${second.acked.length} acknowledged before the kills, ${inbox.index.uids.length} in INBOX after`,
    );
    await account.close();
  } finally {
    await store.close();
  }
});
