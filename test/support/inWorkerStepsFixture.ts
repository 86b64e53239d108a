/** A worker module for inWorker.test.ts: steps that keep a count between calls, or fail. */
import assert from "node:assert/strict";
import { workerStepsServe } from "./inWorker.ts";

let count = 0;

workerStepsServe({
  async add(data) {
    await new Promise((r) => setImmediate(r));
    count += data as number;
    return count;
  },
  async check(data) {
    assert.equal(count, data, "the worker's count");
    return count;
  },
  async crash() {
    process.exit(4);
  },
});
