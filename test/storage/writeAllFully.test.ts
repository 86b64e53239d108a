/**
 * writeAllFully (storage/embedded/durableFs.ts) writes a file's parts without joining them: every
 * byte lands in order even when the system takes fewer bytes than asked, cutting a part.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FileHandle } from "node:fs/promises";
import { writeAllFully } from "../../src/storage/embedded/durableFs.ts";

/** A file handle whose writev takes at most `most` bytes per call, into `into`. */
function shortWrites(into: Uint8Array, most: number): { fh: FileHandle; calls: () => number } {
  let calls = 0;
  const writev = (parts: Uint8Array[], position: number) => {
    calls++;
    let n = 0;
    for (const p of parts) {
      const k = Math.min(p.length, most - n);
      into.set(p.subarray(0, k), position + n);
      n += k;
      if (n === most) break;
    }
    return Promise.resolve({ bytesWritten: n, buffers: parts });
  };
  return { fh: { writev } as unknown as FileHandle, calls: () => calls };
}

test("parts written a few bytes at a time land whole and in order, an empty part included", async () => {
  const parts = [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(4), Uint8Array.of(5, 6, 7, 8, 9)];
  const into = new Uint8Array(12);
  const w = shortWrites(into, 2);
  await writeAllFully(w.fh, parts, 3);
  assert.deepEqual([...into], [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(w.calls(), 5);
});

test("a write that takes nothing is an error, not a loop", async () => {
  const w = shortWrites(new Uint8Array(4), 0);
  await assert.rejects(writeAllFully(w.fh, [Uint8Array.of(1)], 0), /short write/);
});
