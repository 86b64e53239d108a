/**
 * The crash tests' two halves: a child (fixtures/appendMany.ts) appending until it is killed with
 * SIGKILL, and the check after reopening that every acknowledged append is there, with its UID,
 * byte for byte, and that nothing half-written is listed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Account } from "../../src/mail/account.ts";
import { sampleMessage } from "./mailFixtures.ts";
import { tsNodeArgs } from "../support/tsChild.ts";

const CHILD = join(import.meta.dirname, "fixtures", "appendMany.ts");

export interface Acked {
  i: number;
  uid: number;
  mailId: string;
}

/**
 * Runs the child (argv and stdin as fixtures/appendMany.ts reads them) until `killAfter` appends
 * were acknowledged (or `limitMs`), then SIGKILLs it.
 */
export function appendThenKill(
  args: string[],
  stdin: string,
  killAfter: number,
  limitMs = 60_000,
): Promise<{ acked: Acked[]; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...tsNodeArgs(CHILD), ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const acked: Acked[] = [];
    let pending = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
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
    child.stdin.end(stdin);
  });
}

/** Every acknowledged append is in INBOX with its UID and its bytes; every listed message is whole. */
export async function checkAfterCrash(account: Account, acked: Acked[]): Promise<number> {
  const inbox = await account.mailbox("INBOX");
  for (const { i, uid, mailId } of acked) {
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
  assert.ok(inbox.index.uids.length >= acked.length);
  return inbox.index.uids.length;
}
