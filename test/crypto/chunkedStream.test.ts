import { before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomBytes, randomKey } from "../../src/crypto/aead.ts";
import {
  CHUNK_BYTES,
  STREAM_HEADER_BYTES,
  cipherRangeFor,
  openRange,
  openStream,
  parseStreamHeader,
  sealChunks,
  sealStream,
  sealedSize,
} from "../../src/crypto/chunkedStream.ts";
import { Tampered, Truncated, WrongContext } from "../../src/errors.ts";
import { propertyRuns } from "../support/propertyRuns.ts";

const ctx = { purpose: "message-body", path: "mail/abc" };
before(() => loadSodium());

test("a body opens back exactly; its stored size shows only its bucket", () => {
  const key = randomKey();
  for (const n of [0, 1, 300, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
    const plain = randomBytes(n);
    const sealed = sealStream(key, plain, ctx);
    assert.equal(sealed.length, sealedSize(n));
    assert.deepEqual(openStream(key, sealed, ctx), plain);
  }
  assert.equal(
    sealStream(key, randomBytes(1000), ctx).length,
    sealStream(key, randomBytes(1020), ctx).length,
  );
});

test("ranged opens read only the chunks asked for and equal the plaintext slice", () => {
  const key = randomKey();
  const plain = randomBytes(5 * CHUNK_BYTES + 1234);
  const sealed = sealStream(key, plain, ctx);
  const header = parseStreamHeader(key, sealed.subarray(0, STREAM_HEADER_BYTES), ctx);
  fc.assert(
    fc.property(fc.nat(plain.length - 1), fc.integer({ min: 1, max: 3 * CHUNK_BYTES }), (offset, len) => {
      const length = Math.min(len, plain.length - offset);
      const { start, end } = cipherRangeFor(header, offset, length);
      assert.ok(end - start + 1 <= (Math.ceil(length / CHUNK_BYTES) + 1) * (CHUNK_BYTES + 16));
      const got = openRange(key, header, sealed.subarray(start, end + 1), ctx, offset, length);
      assert.deepEqual(got, plain.subarray(offset, offset + length));
    }),
    { numRuns: propertyRuns({ full: 200, fast: 70 }) },
  );
});

test("tampering, reordering, truncation and a move to another path each get their own error", () => {
  const key = randomKey();
  const plain = randomBytes(3 * CHUNK_BYTES);
  const sealed = sealStream(key, plain, ctx);
  const changed = Uint8Array.from(sealed);
  changed[STREAM_HEADER_BYTES + 10]! ^= 1;
  assert.throws(() => openStream(key, changed, ctx), Tampered);
  const c = CHUNK_BYTES + 16;
  const swapped = Uint8Array.from(sealed);
  swapped.set(sealed.subarray(STREAM_HEADER_BYTES, STREAM_HEADER_BYTES + c), STREAM_HEADER_BYTES + c);
  swapped.set(sealed.subarray(STREAM_HEADER_BYTES + c, STREAM_HEADER_BYTES + 2 * c), STREAM_HEADER_BYTES);
  assert.throws(() => openStream(key, swapped, ctx), Tampered);
  assert.throws(() => openStream(key, sealed.subarray(0, sealed.length - c), ctx), Truncated);
  assert.throws(() => openStream(key, sealed.subarray(0, sealed.length - 100), ctx), Truncated);
  assert.throws(() => openStream(key, sealed, { ...ctx, path: "mail/other" }), WrongContext);
  assert.throws(() => openStream(randomKey(), sealed, ctx), Tampered);
});

test("a 20 MiB body sealed incrementally equals the one-shot seal's plaintext", async () => {
  const key = randomKey();
  const size = 20 * 1024 * 1024 + 5;
  const piece = randomBytes(1024 * 1024);
  async function* source() {
    for (let sent = 0; sent < size; sent += piece.length)
      yield piece.subarray(0, Math.min(piece.length, size - sent));
  }
  const parts: Uint8Array[] = [];
  for await (const p of sealChunks(key, ctx, size, source())) parts.push(p);
  const sealed = Buffer.concat(parts);
  assert.equal(sealed.length, sealedSize(size));
  const opened = openStream(key, sealed, ctx);
  assert.equal(opened.length, size);
  assert.deepEqual(
    opened.subarray(size - 5),
    piece.subarray((size - 5) % piece.length, ((size - 5) % piece.length) + 5),
  );
});
