import { test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../src/crypto/sodium.ts";
import { open, randomKey, seal } from "../src/crypto/aead.ts";
import { Tampered, WrongContext } from "../src/errors.ts";

test("a sealed object opens only with its own key and context", async () => {
  await loadSodium();
  const key = randomKey();
  const ctx = { purpose: "meta", path: "meta/abc" };
  const sealed = seal(key, new TextEncoder().encode("hello"), ctx);
  assert.equal(new TextDecoder().decode(open(key, sealed, ctx)), "hello");
  assert.throws(() => open(key, sealed, { purpose: "meta", path: "meta/other" }), WrongContext);
  const changed = Uint8Array.from(sealed);
  changed[changed.length - 1]! ^= 1;
  assert.throws(() => open(key, changed, ctx), Tampered);
  assert.throws(() => open(randomKey(), sealed, ctx), Tampered);
});
