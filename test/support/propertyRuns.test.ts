import assert from "node:assert/strict";
import { test } from "node:test";
import { propertyRuns } from "./propertyRuns.ts";

const counts = { full: 10, fast: 3, override: "AGL_SOME_RUNS" };

test("a property makes its full count of runs unless the run is test:fast (AGL_TEST_FAST=1)", () => {
  assert.equal(propertyRuns(counts, {}), 10);
  assert.equal(propertyRuns(counts, { AGL_TEST_FAST: "0" }), 10);
  assert.equal(propertyRuns(counts, { AGL_TEST_FAST: "1" }), 3);
});

test("the test's own count variable overrides both counts, and a count that is not one is refused", () => {
  assert.equal(propertyRuns(counts, { AGL_SOME_RUNS: "40" }), 40);
  assert.equal(propertyRuns(counts, { AGL_SOME_RUNS: "40", AGL_TEST_FAST: "1" }), 40);
  assert.equal(propertyRuns(counts, { AGL_SOME_RUNS: "", AGL_TEST_FAST: "1" }), 3);
  for (const bad of ["0", "-2", "2.5", "many"])
    assert.throws(() => propertyRuns(counts, { AGL_SOME_RUNS: bad }), /AGL_SOME_RUNS=.*whole number/);
});
