/** A worker module for inWorker.test.ts: returns its data doubled, or fails as the data asks. */
import assert from "node:assert/strict";
import { workerTask } from "./inWorker.ts";

workerTask(async (data) => {
  const { n, fail } = data as { n: number; fail?: "assert" | "exit" };
  await new Promise((r) => setImmediate(r));
  if (fail === "assert") assert.equal(n, 0, "the worker's own assertion");
  if (fail === "exit") process.exit(3);
  return n * 2;
});
