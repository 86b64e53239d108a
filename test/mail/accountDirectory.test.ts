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
import { heldDelays, stateAfterATurn, type HeldDelays } from "../support/heldDelays.ts";

const BASE_DELAY = 100;

/**
 * A wrong password: its answer is held while its delay is (asserted on order, not on wall time,
 * so a loaded machine cannot break it), and is AuthFailed once the delay ends.
 */
async function heldFailure(dir: AccountDirectory, delays: HeldDelays, user: string, password: string) {
  const before = delays.asked.length;
  const answer = dir.login(user, password);
  await delays.until(before + 1);
  assert.equal(await stateAfterATurn(answer), "pending", "answered before its delay ended");
  delays.release();
  await assert.rejects(answer, AuthFailed);
}

test("sessions share one account; every password of the account opens it; failures slow down more and more", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "first", kdf: TEST_KDF })).close();
  await addPassword(store, "first", "second", TEST_KDF);
  const delays = heldDelays();
  const dir = new AccountDirectory(store, "alice", {
    throttle: { baseDelayMs: BASE_DELAY, wait: delays.wait },
  });
  try {
    const a = await dir.login("alice", "first");
    assert.equal(await dir.login("alice", "first"), a, "a second session gets the same account");
    assert.equal(await dir.login("alice", "second"), a, "the account's other password works too");
    assert.deepEqual(delays.asked, [], "a success waits for nothing");

    for (let i = 0; i < 3; i++) await heldFailure(dir, delays, "alice", "wrong");
    assert.deepEqual(
      delays.asked,
      [BASE_DELAY, BASE_DELAY * 2, BASE_DELAY * 4],
      "each failure doubles the delay",
    );
    await heldFailure(dir, delays, "mallory", "first");
    assert.equal(delays.asked.at(-1), BASE_DELAY * 8, "an unknown user counts as a failure too");

    await dir.login("alice", "first");
    await heldFailure(dir, delays, "alice", "wrong");
    assert.equal(delays.asked.at(-1), BASE_DELAY, "a success resets the delay");
  } finally {
    delays.releaseAll();
    await dir.close();
  }
});

test("without a wait given, a failure is answered after its delay, on a timer", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "right", kdf: TEST_KDF })).close();
  const dir = new AccountDirectory(store, "alice", { throttle: { baseDelayMs: 60 } });
  try {
    // Only from below: a loaded machine stretches a timer, never shortens it.
    const started = performance.now();
    await assert.rejects(dir.login("mallory", "right"), AuthFailed);
    const took = performance.now() - started;
    assert.ok(took >= 55, `answered after ${took.toFixed(1)} ms`);
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

test("wrong passwords on other connections never hold up the owner's login (the delay is theirs, outside the lock)", async () => {
  const store = memoryStore();
  await (await createAccount(store, { user: "alice", password: "right", kdf: TEST_KDF })).close();
  for (const unlockedBefore of [true, false]) {
    // The production delays (500 ms, doubling), held by the test: the owner must be served while
    // every guesser waits out its delay, which a delay inside the unlock lock would forbid. The
    // bounds (`until`, the race below) are only reached when that fails.
    const delays = heldDelays();
    const dir = new AccountDirectory(store, "alice", { throttle: { wait: delays.wait } });
    let guesses: Promise<unknown>[] = [];
    try {
      if (unlockedBefore) await dir.login("alice", "right");
      guesses = [0, 1, 2, 3].map((n) => dir.login("alice", `guess ${n}`).catch((err: unknown) => err));
      await delays.until(4);
      await new Promise((r) => setImmediate(r)); // the guesses' unlocks leave the pending map
      const owner = await Promise.race([
        dir.login("alice", "right").then(() => "served"),
        new Promise((r) => setTimeout(r, 10_000, "still waiting after 10 s")),
      ]);
      assert.equal(owner, "served", `unlocked before: ${unlockedBefore}`);
      assert.equal(delays.asked.length, 4, "the owner's login asked for no delay");
      delays.release();
      for (const answer of await Promise.all(guesses)) assert.ok(answer instanceof AuthFailed);
    } finally {
      delays.releaseAll();
      await Promise.all(guesses);
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
    // At once: before the event loop turns, so before either unlock (Argon2id on the thread pool)
    // can have ended; an order, which no load can change.
    const third = dir.login("alice", "guess 3");
    assert.equal(await stateAfterATurn(third), "settled", "the third password was not refused at once");
    await assert.rejects(third, Unavailable);
    assert.equal(await stateAfterATurn(first), "pending", "the first unlock had already ended");
    await Promise.all([assert.rejects(first, AuthFailed), assert.rejects(second, AuthFailed)]);

    // Five sessions opening at once with the same password (Thunderbird's start-up) share one unlock.
    const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => dir.login("alice", "right")));
    assert.ok(sessions.every((a) => a === sessions[0]));
  } finally {
    await dir.close();
  }
});
