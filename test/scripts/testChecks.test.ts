// The prettier check of `npm test` (scripts/test-checks.mjs) keeps a cache, and the cache never
// hides a file that is not formatted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { PRETTIER_ARGS } from "../../scripts/test-checks.mjs";

const prettier = fileURLToPath(new URL("../../node_modules/prettier/bin/prettier.cjs", import.meta.url));

test("prettier --check keeps a cache under node_modules/.cache and still reports an unformatted file", () => {
  const root = mkdtempSync(join(tmpdir(), "agl-checks-"));
  try {
    writeFileSync(join(root, "package.json"), '{ "name": "checked" }\n');
    writeFileSync(join(root, "good.ts"), "export const good = { a: 1 };\n");
    writeFileSync(join(root, "bad.ts"), "export const bad = {a:1};\n");
    const check = () =>
      spawnSync(process.execPath, [prettier, ...PRETTIER_ARGS], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
      });
    for (const round of ["first", "second (from the cache)"]) {
      const r = check();
      assert.equal(r.status, 1, `${round} run: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /bad\.ts/, `${round} run`);
      assert.doesNotMatch(r.stderr, /good\.ts/, `${round} run`);
      assert.ok(existsSync(join(root, "node_modules", ".cache", "prettier")), `${round} run: no cache kept`);
    }
    writeFileSync(join(root, "good.ts"), "export const good = {a:1};\n");
    const edited = check();
    assert.match(edited.stderr, /good\.ts/, "a file edited after it passed is checked again");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
