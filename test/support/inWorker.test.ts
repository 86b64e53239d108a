/**
 * runInWorker and startWorkerSteps (test/support/inWorker.ts) hand back the worker's results, and
 * a failure in the worker fails the test that awaits it: a check moved onto a worker must not pass
 * by going quiet. Each test is bounded: a worker whose end went unnoticed would hang it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runInWorker, startWorkerSteps } from "./inWorker.ts";

const BOUNDED = { timeout: 20_000 };
const FIXTURE = fileURLToPath(new URL("inWorkerFixture.ts", import.meta.url));

test("the worker's result comes back", BOUNDED, async () => {
  assert.equal(await runInWorker<number>(FIXTURE, { n: 21 }), 42);
});

test(
  "an assertion that fails in the worker rejects with its message and the worker's stack",
  BOUNDED,
  async () => {
    await assert.rejects(runInWorker(FIXTURE, { n: 5, fail: "assert" }), (err: Error) => {
      assert.match(err.message, /the worker's own assertion/);
      assert.match(err.stack ?? "", /inWorkerFixture/);
      return true;
    });
  },
);

test("a worker that exits before its result rejects", BOUNDED, async () => {
  await assert.rejects(runInWorker(FIXTURE, { n: 5, fail: "exit" }), /exited with code 3 before its result/);
});

const STEPS = fileURLToPath(new URL("inWorkerStepsFixture.ts", import.meta.url));

test(
  "a worker's steps keep its state between calls; a failing step fails its call, not the next",
  BOUNDED,
  async () => {
    const steps = startWorkerSteps(STEPS);
    try {
      assert.equal(await steps.call<number>("add", 2), 2);
      assert.equal(await steps.call<number>("add", 3), 5);
      await assert.rejects(steps.call("check", 4), (err: Error) => {
        assert.match(err.message, /the worker's count/);
        assert.match(err.stack ?? "", /inWorkerStepsFixture/);
        return true;
      });
      await assert.rejects(steps.call("nothing"), /no step nothing/);
      assert.equal(await steps.call<number>("check", 5), 5);
    } finally {
      await steps.stop();
    }
  },
);

test("a worker that ends fails the call it was on and every call after", BOUNDED, async () => {
  const steps = startWorkerSteps(STEPS);
  try {
    await assert.rejects(steps.call("crash"), /exited with code 4/);
    await assert.rejects(steps.call("add", 1), /exited with code 4/);
  } finally {
    await steps.stop();
  }
});
