/**
 * Crash safety: a child process writes rows and blobs and prints each acknowledged write; it is
 * killed with SIGKILL partway. Every acknowledged write must then be there, byte for byte.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { crashValue } from "./embeddedCrashValues.ts";
import { tsNodeArgs } from "../support/tsChild.ts";

const folders: string[] = [];
const children: number[] = [];
after(async () => {
  for (const pid of children) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

interface Acks {
  rows: number[];
  blobs: number[];
  counters: number[];
}

/** Runs the writer until it has acknowledged `ackTarget` writes (or 10 s pass), then kills it with SIGKILL. */
async function runAndKill(dir: string, first: number, ackTarget: number, mode?: "compact"): Promise<Acks> {
  const script = join(import.meta.dirname, "embeddedCrashWriter.ts");
  const child = spawn(
    process.execPath,
    [...tsNodeArgs(script), dir, String(first), ...(mode ? [mode] : [])],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child.pid!);
  const acks: Acks = { rows: [], blobs: [], counters: [] };
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal)),
  );
  let buffered = "";
  let count = 0;
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000 + 5_000); // start-up through tsx takes a few s
  let startedAt = 0;
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const [kind, n] = line.split(" ");
      if (kind === "ready") startedAt = Date.now();
      else if (kind === "row") acks.rows.push(Number(n));
      else if (kind === "blob") acks.blobs.push(Number(n));
      else if (kind === "counter") acks.counters.push(Number(n));
      else continue;
      if (kind !== "ready" && ++count >= ackTarget) child.kill("SIGKILL");
    }
    if (startedAt && Date.now() - startedAt > 10_000) child.kill("SIGKILL");
  });
  const signal = await exited;
  clearTimeout(killer);
  assert.equal(signal, "SIGKILL", `the writer ended by itself: ${stderr}`);
  return acks;
}

async function checkAcks(dir: string, acks: Acks): Promise<void> {
  const store = await openEmbeddedStore(dir);
  try {
    for (const n of acks.rows) {
      const row = await store.rows.read("crash", `row-${String(n).padStart(8, "0")}`);
      assert.ok(row, `acknowledged row ${n} is missing`);
      assert.deepEqual(row.values, [crashValue(n)], `row ${n} differs`);
    }
    for (const n of acks.blobs) {
      assert.deepEqual(
        await store.blobs.get(`crash/blob-${n}`),
        crashValue(n),
        `blob ${n} differs or is missing`,
      );
    }
    if (acks.counters.length > 0) {
      const counter = await store.rows.read("crash", "counter");
      assert.equal(counter!.values.length, 1, "each counter write replaced the one it read");
      const n = Number(/^counter:(\d+)$/.exec(new TextDecoder().decode(counter!.values[0]))![1]);
      assert.ok(
        n >= Math.max(...acks.counters),
        `counter went back from ${Math.max(...acks.counters)} to ${n}`,
      );
    }
  } finally {
    await store.close();
  }
}

describe("embedded store: crash safety", () => {
  test("after SIGKILL, every acknowledged row and blob is there and intact, twice over", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agl-embedded-crash-"));
    folders.push(dir);
    const firstRun = await runAndKill(dir, 0, 200);
    assert.ok(firstRun.rows.length > 50 && firstRun.blobs.length > 0 && firstRun.counters.length > 0);
    await checkAcks(dir, firstRun);
    // The second writer starts on the folder the first one left (taking over its dead lock).
    const secondRun = await runAndKill(dir, 1_000_000, 200);
    await checkAcks(dir, {
      rows: [...firstRun.rows, ...secondRun.rows],
      blobs: [...firstRun.blobs, ...secondRun.blobs],
      counters: secondRun.counters,
    });
  });

  test("after SIGKILL during compactions, every acknowledged row is there and intact", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agl-embedded-crash-"));
    folders.push(dir);
    const acks = await runAndKill(dir, 0, 300, "compact");
    assert.ok(acks.counters.length >= 20, `only ${acks.counters.length} counter writes`);
    await checkAcks(dir, acks);
  });
});
