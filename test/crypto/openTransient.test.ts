// openTransient opens as `open` does, into a reused room: the same plaintexts and the same
// refusals, and the plaintext does not outlive the call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { open, openTransient, randomKey, seal } from "../../src/crypto/aead.ts";
import { Tampered, WrongContext } from "../../src/errors.ts";

const ctx = { purpose: "message-meta", path: "meta/m1" };

test("openTransient gives what open gives, for small and then larger objects, exact or padded", () => {
  const key = randomKey();
  for (const size of [0, 1, 100, 5_000, 70_000, 3]) {
    const plain = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
    for (const exact of [false, true]) {
      const sealed = seal(key, plain, ctx, { exact });
      const got = openTransient(key, sealed, ctx, (p) => Buffer.from(p));
      assert.deepEqual(new Uint8Array(got), plain);
      assert.deepEqual(new Uint8Array(got), open(key, sealed, ctx));
    }
  }
});

test("openTransient's plaintext is wiped once the call returns", () => {
  const key = randomKey();
  const plain = new Uint8Array(300).fill(0x5a);
  let seen: Uint8Array | undefined;
  openTransient(key, seal(key, plain, ctx), ctx, (p) => {
    assert.equal(
      p.every((b) => b === 0x5a),
      true,
    );
    seen = p; // kept against the rule, to look at the room afterwards
  });
  assert.equal(seen!.length, 300);
  assert.equal(
    seen!.every((b) => b === 0),
    true,
  );
});

test("openTransient refuses a moved object as WrongContext and a changed one as Tampered", () => {
  const key = randomKey();
  const sealed = seal(key, new Uint8Array(50).fill(1), ctx);
  assert.throws(() => openTransient(key, sealed, { ...ctx, path: "meta/m2" }, () => 0), WrongContext);
  const changed = Uint8Array.from(sealed);
  changed[changed.length - 1]! ^= 1;
  assert.throws(() => openTransient(key, changed, ctx, () => 0), Tampered);
  assert.throws(() => openTransient(randomKey(), sealed, ctx, () => 0), Tampered);
});
