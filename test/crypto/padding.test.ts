/**
 * Sealed objects are padded to size buckets (issue 12, "what the host learns"): the host sees
 * AEAD_OVERHEAD + a bucket, and objects sealed before padding (version 1) still open.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { AEAD_OVERHEAD, open, randomBytes, randomKey, seal } from "../../src/crypto/aead.ts";
import { BUCKET_FLOOR, bucketSize, isBucket, padToBucket, unpad } from "../../src/crypto/padding.ts";
import { Tampered } from "../../src/errors.ts";

const ctx = { purpose: "test-object", path: "rows/abc" };
before(() => loadSodium());

test("buckets are powers of two from 256 B to 64 KiB, then multiples of 64 KiB", () => {
  const cases: [number, number][] = [
    [0, 256],
    [1, 256],
    [256, 256],
    [257, 512],
    [4000, 4096],
    [65_536, 65_536],
    [65_537, 131_072],
    [131_073, 196_608],
    [10_000_000, 10_027_008],
  ];
  for (const [n, bucket] of cases) assert.equal(bucketSize(n), bucket, `bucket of ${n}`);
  for (const b of [256, 512, 1024, 32_768, 65_536, 131_072, 196_608]) assert.ok(isBucket(b), `${b}`);
  for (const b of [0, 255, 257, 300, 98_304, 65_537]) assert.ok(!isBucket(b), `${b} is no bucket`);
});

test("a sealed object shows only its bucket, whatever its size within it", () => {
  const key = randomKey();
  const sizes = new Set<number>();
  for (let n = 0; n < BUCKET_FLOOR; n += 17) sizes.add(seal(key, randomBytes(n), ctx).length);
  assert.deepEqual([...sizes], [AEAD_OVERHEAD + BUCKET_FLOOR], "every plaintext under 256 B looks alike");
  for (const n of [255, 256, 1000, 5000, 70_000, 300_000]) {
    const sealed = seal(key, randomBytes(n), ctx);
    const bucket = sealed.length - AEAD_OVERHEAD;
    assert.ok(isBucket(bucket), `${n} bytes sealed to ${sealed.length}`);
    assert.equal(bucket, bucketSize(n + 1));
  }
});

test("padded objects open to exactly what was sealed, trailing zeros and 0x80 bytes included", () => {
  const key = randomKey();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(0, 0x80, 7), (body, tail) => {
      const plain = Uint8Array.from([...body, tail, 0, 0]);
      assert.deepEqual(open(key, seal(key, plain, ctx), ctx), plain);
      assert.deepEqual(unpad(padToBucket(plain), "test"), plain);
    }),
    { numRuns: 200 },
  );
});

test("an object sealed before padding (version 1) still opens; exact sealing writes one", () => {
  const key = randomKey();
  const plain = randomBytes(100);
  const exact = seal(key, plain, ctx, { exact: true });
  assert.equal(exact[0], 1);
  assert.equal(exact.length, AEAD_OVERHEAD + 100);
  assert.deepEqual(open(key, exact, ctx), plain);
  assert.equal(seal(key, plain, ctx)[0], 2);
});

test("the version byte is authenticated: a padded object read as unpadded, or back, fails to open", () => {
  const key = randomKey();
  const padded = seal(key, randomBytes(100), ctx);
  const asExact = Uint8Array.from(padded);
  asExact[0] = 1;
  assert.throws(() => open(key, asExact, ctx), Tampered);
  const exact = seal(key, randomBytes(100), ctx, { exact: true });
  const asPadded = Uint8Array.from(exact);
  asPadded[0] = 2;
  assert.throws(() => open(key, asPadded, ctx), Tampered);
});

test("a padding without its marker is refused", () => {
  assert.throws(() => unpad(new Uint8Array(256), "test"), Tampered);
  const noMarker = new Uint8Array(256);
  noMarker[10] = 1;
  assert.throws(() => unpad(noMarker, "test"), Tampered);
});
