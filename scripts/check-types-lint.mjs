#!/usr/bin/env node
// The type check and eslint of `npm test` (scripts/test-checks.mjs) on one TypeScript program:
// `tsc --noEmit` and eslint's type-aware rules each built the program of tsconfig.json and typed the
// whole tree, once each. Here the program is built once, its diagnostics are what `tsc --noEmit`
// reports, and eslint (eslint.config.js, every rule as configured) reads the types from the same
// checker instead of a project service of its own. `npm run typecheck` and `npx eslint` stay the
// commands to run by hand; they report the same problems.
//
//   node scripts/check-types-lint.mjs [typecheck|eslint]...   (both when none is named)
//
// Prints each check's report and a last line `check NAME exit N` per check; exits 1 when either failed.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
const require = createRequire(import.meta.url);
const ts = require("typescript");
const asked = process.argv.slice(2);
const wants = (name) => asked.length === 0 || asked.includes(name);

/** tsconfig.json's program, as `tsc -p tsconfig.json` builds it. */
function buildProgram() {
  const configPath = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json");
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) return { configErrors: [error] };
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath);
  const program = ts.createProgram({
    rootNames: parsed.fileNames,
    options: parsed.options,
    projectReferences: parsed.projectReferences,
    configFileParsingDiagnostics: parsed.errors,
  });
  return { program, configErrors: parsed.errors };
}

const host = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => "\n",
};

const { program, configErrors } = buildProgram();
const statuses = [];

if (wants("typecheck")) {
  // What tsc --noEmit reports: the config's errors, then the program's pre-emit diagnostics.
  const diagnostics = program ? ts.getPreEmitDiagnostics(program) : configErrors;
  if (diagnostics.length > 0) process.stdout.write(ts.formatDiagnostics(diagnostics, host));
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error).length;
  statuses.push(["typecheck", errors > 0 || !program ? 1 : 0]);
}

if (wants("eslint")) {
  const { ESLint } = await import("eslint");
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: program
      ? [
          {
            files: ["**/*.ts"],
            languageOptions: { parserOptions: { projectService: false, programs: [program] } },
          },
        ]
      : [],
  });
  const results = await eslint.lintFiles(["."]);
  const formatter = await eslint.loadFormatter("stylish");
  const text = await formatter.format(results);
  if (text) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  const errors = results.reduce((n, r) => n + r.errorCount + r.fatalErrorCount, 0);
  statuses.push(["eslint", errors > 0 ? 1 : 0]);
}

for (const [name, status] of statuses) process.stdout.write(`check ${name} exit ${status}\n`);
process.exitCode = statuses.some(([, status]) => status !== 0) ? 1 : 0;
