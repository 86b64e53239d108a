/**
 * The memory collector frees dead buffers and objects that V8 would keep until its own limits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startMemoryCollector } from "../../src/daemon/memoryCollector.ts";

const MiB = 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** 24 MiB of buffers promoted to the old generation, then dropped: dead, and left by V8. */
function deadOldBuffers(): void {
  let held: Buffer[] | undefined = Array.from({ length: 24 }, () => Buffer.alloc(MiB, 1));
  gc(); // they are live: the full collection moves them to the old generation
  assert.equal(held.length, 24);
  held = undefined;
}

async function heldAfter(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return process.memoryUsage().arrayBuffers;
}

/** Buffer bytes after a full collection, once V8's sweeper (which runs beside) has counted them. */
async function settled(): Promise<number> {
  gc();
  return heldAfter(100);
}

test("buffers dead in the old generation are freed once they pass the step", async () => {
  const before = await settled();
  const collector = startMemoryCollector({ stepBytes: 8 * MiB, everyMs: 20 });
  try {
    deadOldBuffers(); // within one turn: the collector sees only the growth
    let held = process.memoryUsage().arrayBuffers;
    assert.ok(held >= before + 20 * MiB, `the dead buffers count until collected (${held - before} B)`);
    for (let i = 0; i < 50 && held >= before + 4 * MiB; i++) held = await heldAfter(20);
    assert.ok(held < before + 4 * MiB, `freed: ${(held - before) / MiB} MiB above the start`);
    assert.ok(collector.collections >= 1);
  } finally {
    collector.stop();
  }
});

/** ~20 MB of small objects promoted to the old generation, then dropped. */
function deadOldObjects(): void {
  let held: { i: number; s: string }[] | undefined = Array.from({ length: 400_000 }, (_, i) => ({
    i,
    s: `message ${i}`,
  }));
  gc();
  assert.equal(held.length, 400_000);
  held = undefined;
}

test("objects dead in the old generation are freed once they pass the step", async () => {
  gc();
  await heldAfter(100);
  const before = process.memoryUsage().heapUsed;
  const collector = startMemoryCollector({ stepBytes: 8 * MiB, everyMs: 20 });
  try {
    deadOldObjects();
    let used = process.memoryUsage().heapUsed;
    assert.ok(used >= before + 12 * MiB, `the dead objects count until collected (${used - before} B)`);
    for (let i = 0; i < 50 && used >= before + 6 * MiB; i++) {
      await heldAfter(20);
      used = process.memoryUsage().heapUsed;
    }
    assert.ok(used < before + 6 * MiB, `freed: ${(used - before) / MiB} MiB above the start`);
  } finally {
    collector.stop();
  }
});

test("growth under the step starts no collection", async () => {
  const before = await settled();
  const collector = startMemoryCollector({ stepBytes: 64 * MiB, everyMs: 20 });
  try {
    deadOldBuffers();
    const held = await heldAfter(200);
    assert.ok(held >= before + 20 * MiB, `V8 keeps them too (${held - before} B above the start)`);
    assert.equal(collector.collections, 0);
  } finally {
    collector.stop();
    gc();
  }
});
