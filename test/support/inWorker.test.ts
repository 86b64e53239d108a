/**
 * runInWorker (test/support/inWorker.ts) hands back the worker's result, and a failure in the
 * worker fails the test that awaits it: a check moved onto a worker must not pass by going quiet.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runInWorker } from "./inWorker.ts";

const FIXTURE = fileURLToPath(new URL("inWorkerFixture.ts", import.meta.url));

test("the worker's result comes back", async () => {
  assert.equal(await runInWorker<number>(FIXTURE, { n: 21 }), 42);
});

test("an assertion that fails in the worker rejects with its message and the worker's stack", async () => {
  await assert.rejects(runInWorker(FIXTURE, { n: 5, fail: "assert" }), (err: Error) => {
    assert.match(err.message, /the worker's own assertion/);
    assert.match(err.stack ?? "", /inWorkerFixture/);
    return true;
  });
});

test("a worker that exits before its result rejects", async () => {
  await assert.rejects(runInWorker(FIXTURE, { n: 5, fail: "exit" }), /exited with code 3 before its result/);
});
