/**
 * Objects sealed by an earlier crypto engine (test/crypto/fixtures/known-answers.json, made with
 * libsodium-wrappers-sumo) must still open: swapping the engine must never strand stored mail.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { open } from "../../src/crypto/aead.ts";
import { openRange, openStream, parseStreamHeader, cipherRangeFor } from "../../src/crypto/chunkedStream.ts";
import { deriveSubkey, parseKeyRoot, unlockKeyRoot } from "../../src/crypto/keyRoot.ts";
import { openSealedBox } from "../../src/crypto/sealedBox.ts";
import { derivePasswordKey } from "../../src/crypto/passwordKey.ts";

const fx = JSON.parse(
  readFileSync(new URL("./fixtures/known-answers.json", import.meta.url), "utf8"),
) as Record<string, Record<string, unknown>> & { key: string };
const bytes = (b64: unknown) => new Uint8Array(Buffer.from(b64 as string, "base64"));
const key = bytes(fx.key);
const expectedBody = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);

test("a sealed object from the earlier engine opens to its plaintext", async () => {
  await loadSodium();
  const s = fx.sealed!;
  const ctx = s.ctx as { purpose: string; path: string };
  assert.deepEqual(open(key, bytes(s.sealed), ctx), bytes(s.plain));
});

test("a sealed stream from the earlier engine opens whole and by range", async () => {
  await loadSodium();
  const s = fx.stream!;
  const ctx = s.ctx as { purpose: string; path: string };
  const sealed = bytes(s.sealed);
  const length = s.length as number;
  assert.deepEqual(openStream(key, sealed, ctx), expectedBody(length));
  const header = parseStreamHeader(key, sealed, ctx);
  const range = cipherRangeFor(header, 65_000, 1_000);
  const part = openRange(key, header, sealed.subarray(range.start, range.end + 1), ctx, 65_000, 1_000);
  assert.deepEqual(part, expectedBody(length).subarray(65_000, 66_000));
});

test("a key root from the earlier engine unlocks to the same keys and subkeys", async () => {
  await loadSodium();
  const k = fx.keyRoot!;
  const keys = await unlockKeyRoot(parseKeyRoot(bytes(k.root)), k.password as string);
  assert.deepEqual(keys.masterKey, bytes(k.masterKey));
  assert.deepEqual(keys.publicKey, bytes(k.publicKey));
  assert.deepEqual(deriveSubkey(keys.masterKey, "index"), bytes(k.subkeyIndex));
  assert.deepEqual(openSealedBox(keys, bytes(fx.box!.sealed)), bytes(fx.sealed!.plain));
  await assert.rejects(unlockKeyRoot(parseKeyRoot(bytes(k.root)), "wrong horse"));
});

test("Argon2id gives the earlier engine's key for the same password, salt and limits", async () => {
  await loadSodium();
  const p = fx.pwhash!;
  const derived = await derivePasswordKey(p.password as string, bytes(p.salt), {
    opslimit: p.opslimit as number,
    memlimit: p.memlimit as number,
  });
  assert.deepEqual(derived, bytes(p.key));
});
