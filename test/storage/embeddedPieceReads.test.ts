/**
 * The embedded store reads a FETCH's piece of a large body (256 KiB of plaintext: up to five
 * sealed 64 KiB chunks and the stream header) synchronously, without waiting on libuv's thread
 * pool: shown by keeping every pool thread busy while the read runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pbkdf2, pbkdf2Sync } from "node:crypto";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { tempDirs } from "../support/tempDirs.ts";

const tempDir = tempDirs("agl-pieces-");
/** A 256 KiB piece as five sealed chunks of 64 KiB + 16 bytes, and a 57-byte stream header. */
const PIECE_CIPHER_BYTES = 5 * (65536 + 16) + 57;

test("a sealed 256 KiB piece of a large blob is read while every thread-pool thread is busy", async () => {
  const store = await openEmbeddedStore(await tempDir());
  try {
    const blob = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await store.blobs.put("mail/large", blob);
    // Pool jobs of ~300 ms each (measured here), one per thread and one more.
    const t0 = performance.now();
    pbkdf2Sync("p", "s", 20_000, 32, "sha256");
    const iterations = Math.max(20_000, Math.round((20_000 * 300) / Math.max(1, performance.now() - t0)));
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    let poolDone = 0;
    const busy = Array.from(
      { length: threads + 1 },
      () =>
        new Promise<void>((resolve, reject) =>
          pbkdf2("p", "s", iterations, 32, "sha256", (err) => (err ? reject(err) : (poolDone++, resolve()))),
        ),
    );
    const piece = await store.blobs.get("mail/large", { start: 0, end: PIECE_CIPHER_BYTES - 1 });
    assert.equal(poolDone, 0, "the piece was read before any pool job ended: no trip through the pool");
    assert.deepEqual(piece, blob.subarray(0, PIECE_CIPHER_BYTES));
    const later = await store.blobs.get("mail/large", { start: 65536 * 4 + 64, end: 65536 * 9 + 64 * 2 });
    assert.equal(poolDone, 0, "a piece further in, too");
    assert.equal(later!.length, 65536 * 5 + 65);
    await Promise.all(busy);
  } finally {
    await store.close();
  }
});
