// The run's compiled twins (scripts/test-compile.mjs): linkTwin points a twin's relative imports
// where they must go from the run's folder, and nothing else in the code.
import assert from "node:assert/strict";
import { test } from "node:test";
import { linkTwin } from "../../scripts/test-compile.mjs";

const root = "/repo";
const jsDir = "/run/js";
const path = "/repo/test/mail/some.test.ts";
const link = (code: string) => linkTwin(code, path, root, jsDir);

test("imports, re-exports and import() of a compiled .ts file name its twin; others by absolute URL", () => {
  const code = [
    'import { a } from "../support/a.ts";',
    'import "./side.ts";',
    'export * from "../../src/mail/b.ts";',
    'export { c as from } from "./c.ts";',
    'const d = await import("./d.ts");',
    'const e = await import("./e.ts", { with: { type: "json" } });',
    'import pkg from "../../package.json" with { type: "json" };',
    'import { x } from "../../scripts/test-tmp.mjs";',
    'import fc from "fast-check";',
    "import * as fs from 'node:fs';",
  ].join("\n");
  assert.equal(
    link(code),
    [
      'import { a } from "../support/a.js";',
      'import "./side.js";',
      'export * from "../../src/mail/b.js";',
      'export { c as from } from "./c.js";',
      'const d = await import("./d.js");',
      'const e = await import("./e.js", { with: { type: "json" } });',
      'import pkg from "file:///repo/package.json" with { type: "json" };',
      'import { x } from "file:///repo/scripts/test-tmp.mjs";',
      'import fc from "fast-check";',
      "import * as fs from 'node:fs';",
    ].join("\n"),
  );
});

test("text that only looks like an import (strings, templates, comments, regular expressions) is left alone", () => {
  const code = [
    "const source = 'import { a } from \"./a.ts\";';",
    'const template = `export * from "./b.ts"; ${await import("./c.ts")}`;',
    '// import "./d.ts";',
    '/* const e = import("./e.ts"); */',
    'const re = /from "\\.\\/f\\.ts"/;',
    "const from = 1, meta = import.meta.url;",
    'const g = await import("./g" + ".ts");',
    "const h = await import(`./h.ts`);",
  ].join("\n");
  assert.equal(link(code), code.replace('import("./c.ts")', 'import("./c.js")'));
});
