/**
 * Login through the AccountDirectory: one shared unlocked account for every session, each of the
 * account's passwords works, and failures are answered AuthFailed after a delay that doubles with
 * each consecutive failure and resets after a success.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { AuthFailed, Unavailable } from "../../src/errors.ts";
import { addPassword, createAccount } from "../../src/mail/account.ts";
import { AccountDirectory } from "../../src/mail/accountDirectory.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";

const BASE_DELAY = 100;

async function timedFailure(dir: AccountDirectory, user: string, password: string): Promise<number> {
  const started = performance.now();
  await assert.rejects(dir.login(user, password), AuthFailed);
  return performance.now() - started;
}

test("sessions share one account; every password of the account opens it; failures slow down more and more", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "first", kdf: TEST_KDF })).close();
  await addPassword(store, "first", "second", TEST_KDF);
  // The delays asked for are checked exactly, and that they are really waited only from below: a
  // loaded machine (six test files at once on two cores) stretches a timer and Argon2id, never
  // shortens them, so no upper bound on wall time is asserted.
  const asked: number[] = [];
  const wait = (ms: number) => {
    asked.push(ms);
    return new Promise<void>((r) => setTimeout(r, ms));
  };
  const dir = new AccountDirectory(store, "alice", { throttle: { baseDelayMs: BASE_DELAY, wait } });
  try {
    const a = await dir.login("alice", "first");
    assert.equal(await dir.login("alice", "first"), a, "a second session gets the same account");
    assert.equal(await dir.login("alice", "second"), a, "the account's other password works too");
    assert.deepEqual(asked, [], "a success waits for nothing");

    const delays = [];
    for (let i = 0; i < 3; i++) delays.push(await timedFailure(dir, "alice", "wrong"));
    assert.deepEqual(asked, [BASE_DELAY, BASE_DELAY * 2, BASE_DELAY * 4], "each failure doubles the delay");
    delays.forEach((d, i) => assert.ok(d >= asked[i]! * 0.9, `failure ${i + 1} answered after ${d} ms`));
    await assert.rejects(dir.login("mallory", "first"), AuthFailed);
    assert.equal(asked.at(-1), BASE_DELAY * 8, "an unknown user counts as a failure too");

    await dir.login("alice", "first");
    await timedFailure(dir, "alice", "wrong");
    assert.equal(asked.at(-1), BASE_DELAY, "a success resets the delay");
  } finally {
    await dir.close();
  }
});

test("login listeners hear every successful login with its password, never a failed one", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "first", kdf: TEST_KDF })).close();
  await addPassword(store, "first", "second", TEST_KDF);
  const dir = new AccountDirectory(store, "alice", { throttle: { baseDelayMs: 1 } });
  const heard: [unknown, string][] = [];
  dir.onLogin((account, password) => heard.push([account, password]));
  try {
    const a = await dir.login("alice", "first");
    await assert.rejects(dir.login("alice", "wrong"), AuthFailed);
    await assert.rejects(dir.login("mallory", "first"), AuthFailed);
    await dir.login("alice", "second");
    await dir.login("alice", "first");
    assert.deepEqual(heard, [
      [a, "first"],
      [a, "second"],
      [a, "first"],
    ]);
  } finally {
    await dir.close();
  }
});

/** Sends wrong passwords in a loop until `stop` is set; counts the answers. */
function hammer(dir: AccountDirectory, stop: { now: boolean }, n: number): Promise<number> {
  return (async () => {
    let answered = 0;
    while (!stop.now) {
      await dir.login("alice", `guess ${n} ${answered}`).catch(() => undefined);
      answered++;
    }
    return answered;
  })();
}

test("wrong passwords on other connections never hold up the owner's login (the delay is theirs, outside the lock)", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "right", kdf: TEST_KDF })).close();
  for (const unlockedBefore of [true, false]) {
    // The production delays (500 ms, doubling), capped at 2 s so that the hammers stop soon.
    const dir = new AccountDirectory(store, "alice", { throttle: { maxDelayMs: 2000 } });
    const stop = { now: false };
    try {
      if (unlockedBefore) await dir.login("alice", "right");
      const hammers = [0, 1, 2, 3].map((n) => hammer(dir, stop, n));
      await new Promise((r) => setTimeout(r, 1500)); // the failures' delays are seconds long by now
      const started = performance.now();
      await dir.login("alice", "right");
      const took = performance.now() - started;
      assert.ok(took < 1000, `the owner waited ${Math.round(took)} ms (unlocked before: ${unlockedBefore})`);
      stop.now = true;
      await Promise.all(hammers);
    } finally {
      stop.now = true;
      await dir.close();
    }
  }
});

test("at most maxPendingUnlocks different passwords wait for Argon2id; more are refused at once; equal ones share one", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "right", kdf: TEST_KDF })).close();
  const dir = new AccountDirectory(store, "alice", { throttle: { baseDelayMs: 10, maxPendingUnlocks: 2 } });
  try {
    const first = dir.login("alice", "guess 1");
    const second = dir.login("alice", "guess 2");
    const started = performance.now();
    await assert.rejects(dir.login("alice", "guess 3"), Unavailable);
    assert.ok(performance.now() - started < 50, "the third password was not refused at once");
    await Promise.all([assert.rejects(first, AuthFailed), assert.rejects(second, AuthFailed)]);

    // Five sessions opening at once with the same password (Thunderbird's start-up) share one unlock.
    const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => dir.login("alice", "right")));
    assert.ok(sessions.every((a) => a === sessions[0]));
  } finally {
    await dir.close();
  }
});
