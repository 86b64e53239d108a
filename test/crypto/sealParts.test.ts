// sealParts seals its parts joined into one buffer: what `seal` of the joined bytes gives (same
// size, same plaintext back through `open`), under a key ring's later epoch too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { open, randomKey, seal, sealedEpoch, sealParts, type KeyRing } from "../../src/crypto/aead.ts";
import { Tampered, WrongContext } from "../../src/errors.ts";

const ctx = { purpose: "bayou-checkpoint", path: "index/a/checkpoint/1" };

function joined(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

test("sealParts opens to the parts joined, the size seal gives, for sizes around the buckets", () => {
  const key = randomKey();
  for (const sizes of [[], [0], [4, 10, 0], [255], [256], [65_535], [4, 30, 65_536], [4, 200, 300_000]]) {
    const parts = sizes.map((n, p) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + p) & 0xff));
    const sealed = sealParts(key, parts, ctx);
    assert.deepEqual(open(key, sealed, ctx), joined(parts));
    assert.equal(sealed.length, seal(key, joined(parts), ctx).length, `sizes ${sizes.join(",")}`);
  }
});

test("sealParts under a later key epoch names it, and opens only with that epoch's key", () => {
  const keys = [randomKey(), randomKey(), randomKey()];
  const ring: KeyRing = {
    sealingKey: () => ({ epoch: 2, key: keys[2]! }),
    openingKey: (epoch) => keys[epoch]!,
  };
  const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(1_000).fill(7)];
  const sealed = sealParts(ring, parts, ctx);
  assert.equal(sealedEpoch(sealed), 2);
  assert.deepEqual(open(ring, sealed, ctx), joined(parts));
  assert.deepEqual(open(ring, seal(ring, joined(parts), ctx), ctx), joined(parts));
  assert.throws(() => open(keys[2]!, sealed, ctx), Tampered); // a bare key is epoch 0's
});

test("sealParts' output is authenticated: a changed byte or another place does not open", () => {
  const key = randomKey();
  const sealed = sealParts(key, [new Uint8Array(5_000).fill(1)], ctx);
  const changed = Uint8Array.from(sealed);
  changed[changed.length - 100]! ^= 1;
  assert.throws(() => open(key, changed, ctx), Tampered);
  assert.throws(() => open(key, sealed, { ...ctx, path: "index/b/checkpoint/1" }), WrongContext);
});
