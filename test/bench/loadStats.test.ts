/**
 * The hour-long soak (LOAD_SOAK=1) records over a million latencies; its summary spread them into
 * one push() and overflowed the call stack at the end of the hour, losing the run's record
 * ("target embedded: SKIPPED: Maximum call stack size exceeded", 2026-12-06).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LoadStats } from "../../bench/load/stats.ts";

test("percentiles of an hour's worth of latencies do not overflow the stack", () => {
  const stats = new LoadStats();
  const n = 1_500_000;
  for (let i = 0; i < n; i++) stats.record(i % 3 === 0 ? "FETCH" : "NOOP", (i % 1000) / 10);
  const p = stats.percentiles();
  assert.equal(p.all!.n, n);
  assert.equal(p.all!.max, 99.9);
  assert.equal(p.FETCH!.n + p.NOOP!.n, n);
});
