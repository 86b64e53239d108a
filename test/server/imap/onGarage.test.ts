/**
 * The raw-IMAP scenario tests again, on a real one-node Garage instead of memory (issue 5: the IMAP
 * scenarios run on garage as well). The scenario files are dealt to CHILDREN child test processes
 * run at once (they mostly wait on Garage), with AGL_IMAP_BACKEND=garage; a child runs its files one
 * after another, each inside a suite named after it, on one Garage, each file's store on a bucket
 * of its own (scenarioHelpers.ts). Its output is shown when it fails. The children load the run's
 * compiled files (tsChild.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { skipUnless } from "../../support/peers.ts";
import { garageBinary } from "../../support/garage.ts";
import { runChild } from "../../support/runChild.ts";
import { childFlagsFor, runnableFile } from "../../support/tsChild.ts";

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

/**
 * A child process each started node, the loader and a Garage of its own for one file (~1 CPU s
 * before its first test, 24 times): three children, each on one Garage, run them all.
 */
const CHILDREN = 3;
const shares = Array.from({ length: CHILDREN }, (_, i) => SCENARIOS.filter((_, j) => j % CHILDREN === i));

const entries = mkdtempSync(join(tmpdir(), "agl-on-garage-"));
after(() => rmSync(entries, { recursive: true, force: true }));

/**
 * The child's script: each file inside a suite named after it (so its top-level hooks stay its
 * own), which fails when none of its tests ran (a file that skipped everything on Garage).
 */
function entryFor(files: string[], index: number): string {
  const suites = files.map((f) => {
    const url = JSON.stringify(pathToFileURL(runnableFile(join(here, f))).href);
    return `describe(${JSON.stringify(f)}, async () => {
  let ran = 0;
  afterEach(() => void ran++);
  after(() => assert.ok(ran > 0, ${JSON.stringify(`${f} ran no test on Garage`)}));
  await import(${url});
});`;
  });
  const entry = join(entries, `scenarios-${index + 1}.mjs`);
  writeFileSync(
    entry,
    `import assert from "node:assert/strict";\nimport { after, afterEach, describe } from "node:test";\n${suites.join("\n")}\n`,
  );
  return entry;
}

/** The spec reporter's last line for a suite that passed, at the top level of the child's output. */
const passedLine = (file: string) => new RegExp(`^✔ ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(`, "m");

describe(
  "IMAP scenarios on a real Garage",
  {
    skip: skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage"),
    // Every file's test waits on its share's child: all at once, so that the children run at once.
    concurrency: true,
  },
  () => {
    shares.forEach((files, i) => {
      let child: ReturnType<typeof runChild> | undefined;
      // Without NODE_TEST_CONTEXT: a child that inherits it from this test process reports to a
      // parent runner in its protocol instead of printing the lines read below. The entry runs as
      // the script itself, not under `node --test`, which would start a second process for it.
      const share = () =>
        (child ??= runChild(
          process.execPath,
          [
            ...childFlagsFor(files.map((f) => runnableFile(join(here, f)))),
            "--test-reporter=spec",
            entryFor(files, i),
          ],
          {
            env: { ...process.env, AGL_IMAP_BACKEND: "garage", NODE_TEST_CONTEXT: undefined },
            timeoutMs: 590_000,
          },
        ));
      for (const file of files)
        test(file, { timeout: 600_000 }, async () => {
          const run = await share();
          assert.match(
            run.stdout,
            passedLine(file),
            `${file} failed on Garage (its process ran ${files.join(", ")}; exit ${run.status}):\n${run.stdout}\n${run.stderr}`,
          );
          assert.equal(
            run.status,
            0,
            `the process of ${files.join(", ")} failed:\n${run.stdout}\n${run.stderr}`,
          );
        });
    });
  },
);
