/**
 * memoizePwhash (test/support/derivationMemo.ts): the CLI test processes' Argon2id runs once per
 * (password, salt, parameters), a repeat gets the same bytes as a fresh derivation, anything that
 * differs is derived afresh, and a failure is not kept.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { memoizePwhash, type Pwhash } from "./derivationMemo.ts";

const sodium = createRequire(import.meta.url)("sodium-native") as {
  crypto_pwhash_async: Pwhash;
  crypto_pwhash_ALG_ARGON2ID13: number;
};
const ALG = sodium.crypto_pwhash_ALG_ARGON2ID13;
const LIGHT = { ops: 1, mem: 8 * 1024 * 1024 };
const text = (s: string) => new TextEncoder().encode(s);
const salt = (byte: number) => new Uint8Array(16).fill(byte);

/** The real derivation, counted. */
function counted(): { derive: Pwhash; runs: () => number } {
  let runs = 0;
  const derive: Pwhash = (...args) => {
    runs++;
    return sodium.crypto_pwhash_async(...args);
  };
  return { derive, runs: () => runs };
}

async function key(derive: Pwhash, password: string, saltByte: number, ops = LIGHT.ops): Promise<Buffer> {
  const out = new Uint8Array(32);
  await derive(out, text(password), salt(saltByte), ops, LIGHT.mem, ALG);
  return Buffer.from(out);
}

test("a repeat runs Argon2id once and gets the bytes a fresh derivation gives", async () => {
  const { derive, runs } = counted();
  const memo = memoizePwhash(derive);
  const fresh = await key(sodium.crypto_pwhash_async.bind(sodium), "pw", 1);
  const [a, b] = await Promise.all([key(memo, "pw", 1), key(memo, "pw", 1)]);
  const c = await key(memo, "pw", 1);
  assert.deepEqual([a, b, c], [fresh, fresh, fresh]);
  assert.equal(runs(), 1);
});

test("another password, salt or parameters is derived afresh", async () => {
  const { derive, runs } = counted();
  const memo = memoizePwhash(derive);
  const keys = [
    await key(memo, "pw", 1),
    await key(memo, "other", 1),
    await key(memo, "pw", 2),
    await key(memo, "pw", 1, 2),
  ];
  assert.equal(runs(), 4);
  assert.equal(new Set(keys.map((k) => k.toString("hex"))).size, 4);
});

test("the caller's buffer is its own: wiping it leaves the next repeat's key whole", async () => {
  const memo = memoizePwhash(sodium.crypto_pwhash_async.bind(sodium));
  const first = new Uint8Array(32);
  await memo(first, text("pw"), salt(3), LIGHT.ops, LIGHT.mem, ALG);
  const kept = Buffer.from(first);
  first.fill(0);
  assert.deepEqual(await key(memo, "pw", 3), kept);
});

test("a failed derivation is not kept: the same inputs run again", async () => {
  let runs = 0;
  const memo = memoizePwhash(async (out) => {
    runs++;
    if (runs === 1) throw new Error("out of memory");
    out.fill(7);
  });
  const out = new Uint8Array(32);
  await assert.rejects(memo(out, text("pw"), salt(4), 1, 8192, ALG)!, /out of memory/);
  await memo(out, text("pw"), salt(4), 1, 8192, ALG);
  assert.equal(runs, 2);
  assert.equal(out[0], 7);
});
