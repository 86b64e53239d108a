/**
 * scripts/test-context.mjs gives node:test's harness the test that runs now without a destroy hook.
 * A file run with it reports what it reports without it: a test registered after an await inside a
 * describe is that describe's, and an error thrown from a timer or a rejection nobody catches fails
 * the test whose code made it. A harness hook that did nothing would flatten the first and let the
 * other two pass.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { engaged } from "../../scripts/test-context.mjs";

const PRELOAD = resolve(import.meta.dirname, "../../scripts/test-context.mjs");

const FIXTURE = `import { describe, test } from "node:test";
const tick = (ms) => new Promise((r) => setTimeout(r, ms));
describe("outer", async () => {
  await tick(5);
  test("registered after an await", () => {});
});
test("throws from a timer", async () => {
  setTimeout(() => {
    throw new Error("boom from a timer");
  }, 1);
  await tick(100);
});
test("rejects with nobody to catch", async () => {
  void Promise.reject(new Error("boom unhandled"));
  await tick(100);
});
test("passes", () => {});
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-test-context-"));
  await writeFile(join(dir, "fixture.mjs"), FIXTURE);
});
after(() => rm(dir, { recursive: true, force: true }));

/**
 * The fixture's TAP report, run by a node of its own, without what changes from run to run: the
 * durations, and the stacks (whether a test started from a timer's tick adds frames).
 */
function report(preload: boolean): { status: number | null; tap: string } {
  // NODE_TEST_CONTEXT would make the child report in the runner's protocol, not TAP.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(
    process.execPath,
    [...(preload ? ["--import", PRELOAD] : []), "--test-reporter=tap", join(dir, "fixture.mjs")],
    { env, encoding: "utf8", timeout: 30_000 },
  );
  const kept: string[] = [];
  // The indentation of the `stack: |-` key being skipped: its frames are indented deeper.
  let stackIndent = -1;
  for (const line of r.stdout.split("\n")) {
    const indent = /^ */.exec(line)![0].length;
    if (stackIndent >= 0 && indent > stackIndent) continue;
    stackIndent = /^ *stack: \|-$/.test(line) ? indent : -1;
    if (stackIndent < 0 && !/duration_ms/.test(line)) kept.push(line);
  }
  return { status: r.status, tap: kept.join("\n") };
}

test("a file reports the same with the test context as with the harness's own hook", () => {
  const own = report(false);
  const ours = report(true);
  assert.equal(ours.tap, own.tap);
  assert.equal(ours.status, 1);
  assert.match(ours.tap, /^# Subtest: outer\n {4}# Subtest: registered after an await\n {4}ok 1 - /m);
  assert.match(ours.tap, /^not ok 2 - throws from a timer\n(.*\n)*? {2}failureType: 'uncaughtException'/m);
  assert.match(
    ours.tap,
    /^not ok 3 - rejects with nobody to catch\n(.*\n)*? {2}failureType: 'unhandledRejection'/m,
  );
  assert.match(ours.tap, /^ok 4 - passes$/m);
});

test("under run-tests.mjs this process runs with it", { skip: !process.env.AGL_TEST_JS_DIR }, () => {
  assert.equal(engaged, true);
});
