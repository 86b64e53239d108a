/**
 * Login through the AccountDirectory: one shared unlocked account for every session, each of the
 * account's passwords works, and failures are answered AuthFailed after a delay that doubles with
 * each consecutive failure and resets after a success.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { AuthFailed } from "../../src/errors.ts";
import { addPassword, createAccount } from "../../src/mail/account.ts";
import { AccountDirectory } from "../../src/mail/accountDirectory.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";

// Large enough that a loaded machine (test files run six at a time) cannot blur one step of the
// doubling into the next: each bound below leaves ~250 ms for it.
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
  const dir = new AccountDirectory(store, "alice", BASE_DELAY);
  try {
    const a = await dir.login("alice", "first");
    assert.equal(await dir.login("alice", "first"), a, "a second session gets the same account");
    assert.equal(await dir.login("alice", "second"), a, "the account's other password works too");

    const delays = [];
    for (let i = 0; i < 3; i++) delays.push(await timedFailure(dir, "alice", "wrong"));
    assert.ok(delays[0]! >= BASE_DELAY * 0.9, `first failure answered after ${delays[0]} ms`);
    assert.ok(delays[1]! >= BASE_DELAY * 2 * 0.9, `second failure answered after ${delays[1]} ms`);
    assert.ok(delays[2]! >= BASE_DELAY * 4 * 0.9, `third failure answered after ${delays[2]} ms`);
    assert.ok(delays[0]! < BASE_DELAY * 4 * 0.9, `delays did not grow: ${delays.join(", ")}`);
    await assert.rejects(dir.login("mallory", "first"), AuthFailed);

    await dir.login("alice", "first");
    const afterSuccess = await timedFailure(dir, "alice", "wrong");
    assert.ok(afterSuccess < BASE_DELAY * 4 * 0.9, `the delay did not reset: ${afterSuccess} ms`);
  } finally {
    await dir.close();
  }
});
