// The runner's count of each entry's tests (scripts/test-groups.mjs): a test process that ends
// with status 0 before its tests are done fails nothing in node:test's run(), so without the
// count such a run passes with tests missing from its summary.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { writeGroupEntry } from "../../scripts/test-groups.mjs";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/runner/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "agl-test-groups-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `files` as run-tests.mjs does, in a process of its own (node:test will not run() files from
 * inside a test file), and returns the count's shortfalls and the passes and failures seen.
 */
function shortfalls(files: string[], groups = new Map<string, string[]>()) {
  const env = { ...process.env };
  // Set by the run this test is part of; the runner's children would otherwise report to it.
  delete env.NODE_TEST_CONTEXT;
  const out = execFileSync(
    process.execPath,
    [fixture("countRun.mjs"), JSON.stringify({ files, groups: [...groups] })],
    { env, encoding: "utf8", timeout: 30_000 },
  );
  return JSON.parse(out) as { lines: string[]; passes: number; failures: number };
}

describe("the runner's count of each entry's tests", () => {
  test("files whose tests all ran leave nothing short", () => {
    const { lines, passes, failures } = shortfalls([fixture("passes.mjs"), fixture("alsoPasses.mjs")]);
    assert.deepEqual(lines, []);
    assert.deepEqual({ passes, failures }, { passes: 3, failures: 0 });
  });

  test("a process that exits with status 0 in the middle of its tests is short", () => {
    const { lines, failures } = shortfalls([fixture("exitsMidRun.mjs")]);
    // What the count is for: node:test itself sees no failure.
    assert.equal(failures, 0);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0] ?? "", /^exitsMidRun\.mjs: 1 tests reported of the 3 registered$/);
  });

  test("a process that exits with status 0 before it declares a test is short", () => {
    const { lines } = shortfalls([fixture("exitsAtLoad.mjs")]);
    assert.deepEqual(lines, ["exitsAtLoad.mjs: its process reported no test"]);
  });

  test("a group whose process ends early names the files it never reported", () => {
    const entry = join(dir, "entry.mjs");
    const names = ["passes", "exitsMidRun", "alsoPasses"];
    writeGroupEntry(
      entry,
      names.map((name) => ({ name, path: fixture(`${name}.mjs`) })),
    );
    const { lines } = shortfalls([entry], new Map([[entry, names]]));
    assert.ok(
      lines.includes("entry.mjs: no result for exitsMidRun, alsoPasses (its process ended before them)"),
      lines.join("\n"),
    );
  });
});
