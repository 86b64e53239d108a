/**
 * The raw-IMAP scenario tests again, on a real one-node Garage instead of memory (issue 5: the IMAP
 * scenarios run on garage as well). Each scenario file runs in a child test process with
 * AGL_IMAP_BACKEND=garage; its output is shown when it fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { skipUnless } from "../../support/peers.ts";
import { garageBinary } from "../../support/garage.ts";

const here = dirname(fileURLToPath(import.meta.url));
const SCENARIOS = readdirSync(here)
  // Files that pick their own storage (a Garage of their own, or none that matters) run once.
  .filter(
    (f) =>
      f.endsWith(".test.ts") &&
      ![
        "onGarage.test.ts",
        "selectedView.test.ts",
        "starttls.test.ts",
        "preLogin.test.ts",
        "preLoginMemory.test.ts",
      ].includes(f),
  )
  .filter((f) => !f.startsWith("garage"))
  .sort();

describe(
  "IMAP scenarios on a real Garage",
  { skip: skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage") },
  () => {
    for (const file of SCENARIOS) {
      test(file, { timeout: 240_000 }, () => {
        const run = spawnSync(
          process.execPath,
          ["--import", "tsx", "--test", "--test-reporter=dot", join(here, file)],
          {
            env: { ...process.env, AGL_IMAP_BACKEND: "garage" },
            encoding: "utf8",
            timeout: 230_000,
          },
        );
        assert.equal(run.status, 0, `${file} failed on Garage:\n${run.stdout}\n${run.stderr}`);
      });
    }
  },
);
