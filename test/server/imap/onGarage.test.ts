/**
 * The raw-IMAP scenario tests again, on a real one-node Garage instead of memory (issue 5: the IMAP
 * scenarios run on garage as well). Each scenario file runs in a child test process with
 * AGL_IMAP_BACKEND=garage and a Garage of its own, three at a time (they mostly wait on Garage);
 * its output is shown when it fails. The children load the run's compiled files (tsChild.ts).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { skipUnless } from "../../support/peers.ts";
import { garageBinary } from "../../support/garage.ts";
import { runChild } from "../../support/runChild.ts";
import { TS_CHILD_FLAGS } from "../../support/tsChild.ts";

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The files whose store AGL_IMAP_BACKEND picks: those that get it from scenarioHelpers.ts
 * (`useServer`, `openBaseStore`). The others build their own (a memory or embedded store, or a
 * Garage of their own) and ran the same tests a second time here, for nothing: among them the 60 s
 * load run (loadWatchdog), the search index files, and uidStorm and whatTheHostLearns, which
 * already run on Garage as files of their own.
 */
const SCENARIOS = readdirSync(here)
  .filter((f) => f.endsWith(".test.ts"))
  .filter((f) => /\b(useServer|openBaseStore)\(/.test(readFileSync(join(here, f), "utf8")))
  .sort();

describe(
  "IMAP scenarios on a real Garage",
  {
    skip: skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage"),
    concurrency: 3,
  },
  () => {
    for (const file of SCENARIOS) {
      test(file, { timeout: 240_000 }, async () => {
        // Without NODE_TEST_CONTEXT: a child that inherits it from this test process reports to a
        // parent runner in its protocol instead of printing the summary read below. The file runs
        // as the script itself, not under `node --test`, which would start a second process for it
        // (a failing test still makes the status 1).
        const env = { ...process.env, AGL_IMAP_BACKEND: "garage", NODE_TEST_CONTEXT: undefined };
        const run = await runChild(
          process.execPath,
          [...TS_CHILD_FLAGS, "--test-reporter=spec", join(here, file)],
          { env, timeoutMs: 230_000 },
        );
        assert.equal(run.status, 0, `${file} failed on Garage:\n${run.stdout}\n${run.stderr}`);
        const passed = Number(/^ℹ pass (\d+)$/m.exec(run.stdout)?.[1] ?? 0);
        assert.ok(passed > 0, `${file} ran no test on Garage:\n${run.stdout}\n${run.stderr}`);
      });
    }
  },
);
