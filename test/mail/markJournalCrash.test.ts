/**
 * The marks journal across kill -9 (mail/markJournal.ts): a child saves marks round after round
 * (fixtures/saveMarks.ts), through several compactions, and is killed with SIGKILL at an
 * arbitrary moment; reopened, every path holds the last round acknowledged, or the one after it
 * (written, not yet acknowledged), and the journal takes new marks.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { openMarkBook } from "../../src/mail/localMarks.ts";
import { tsNodeArgs } from "../support/tsChild.ts";

const CHILD = join(import.meta.dirname, "fixtures", "saveMarks.ts");
const folders: string[] = [];
before(async () => {
  await loadSodium();
});
after(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** Runs the child until `killAfter` rounds are acknowledged (or 60 s), then SIGKILLs it. */
function saveThenKill(marksDir: string, killAfter: number): Promise<{ acked: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...tsNodeArgs(CHILD), marksDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let acked = -1;
    let pending = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!; // a line cut by the kill is not an acknowledgement
      for (const line of lines) acked = Math.max(acked, Number(line));
      if (acked >= killAfter) child.kill("SIGKILL");
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", () => {
      clearTimeout(timer);
      resolve({ acked, stderr });
    });
  });
}

test("marks acknowledged before a kill -9 are there after it, through compactions", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-journal-crash-"));
  folders.push(marksDir);
  const lines: string[] = [];
  const key = new Uint8Array(32).fill(3);
  for (const killAfter of [150, 230]) {
    const { acked, stderr } = await saveThenKill(marksDir, killAfter);
    assert.ok(acked >= killAfter, `the child acknowledged ${acked} rounds before the limit: ${stderr}`);
    const book = openMarkBook({
      marksDir,
      key,
      accountName: "crash",
      log: (l, m) => lines.push(`${l} ${m}`),
    });
    for (const path of ["index/a", "index/b", "mailboxes/list"]) {
      const mark = (await book.load(path)) as { round: number } | undefined;
      assert.ok(mark, `${path} has a mark`);
      assert.ok(
        mark.round >= acked && mark.round <= acked + 1,
        `${path}: round ${mark.round}, ${acked} acknowledged`,
      );
    }
    // The next run appends after what the kill left (a torn record is cut at the open).
    await book.save("index/a", { round: -1 });
    assert.deepEqual(await book.load("index/a"), { round: -1 });
  }
  assert.ok(!lines.some((l) => /does not open/.test(l)), lines.join("\n"));
});
