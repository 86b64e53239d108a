/**
 * How many random runs a long property test makes. `npm test` makes the full count; `npm run
 * test:fast` (scripts/run-tests.mjs --fast sets AGL_TEST_FAST=1) makes fewer, so that the loop one
 * runs after every change stays under a minute while every full run still covers as much as before.
 * The test and its assertions are the same in both; only how many random cases it draws differs.
 *
 * A failure replays the same way under both: fast-check draws its runs one after another from the
 * seed, so the fast count is the first runs of the full one, and AGL_SEED=<the printed seed> with
 * either count reaches the run that failed (a full run's late failure replays under `npm test`).
 * A variable of the test's own (AGL_UID_RUNS, for nightly runs) overrides both counts.
 */
export interface RunCounts {
  /** Runs under `npm test` (and whenever AGL_TEST_FAST is unset). */
  full: number;
  /** Runs under `npm run test:fast`. */
  fast: number;
  /** The name of an environment variable that, when set to a whole number, overrides both. */
  override?: string;
}

export function propertyRuns(counts: RunCounts, env: NodeJS.ProcessEnv = process.env): number {
  const asked = counts.override ? env[counts.override] : undefined;
  if (asked !== undefined && asked !== "") {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${counts.override}=${asked}: a whole number of runs, 1 or more`);
    return n;
  }
  return env.AGL_TEST_FAST === "1" ? counts.fast : counts.full;
}
