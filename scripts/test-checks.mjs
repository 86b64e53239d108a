// The static checks of `npm test` (types, lint, formatting), run beside the test files by
// run-tests.mjs --checks instead of one after another before them. Each is a single-threaded chain
// (measured under nice -n 10 at a load of ~20, CPU s: tsc --noEmit 19, eslint 49, prettier 20):
// run first, in a row, they kept both cores half idle for ~90 s before the first test file started.
// Beside the test files, which keep two cores busy anyway, they cost their CPU seconds and no more.
import { spawn } from "node:child_process";
import { join } from "node:path";

/**
 * prettier --check with its cache (node_modules/.cache/prettier/, gone with a fresh `npm ci`): a
 * file whose content, prettier version and options it has already seen formatted is not parsed
 * again. A fresh clone pays the full check (~17 CPU s); the next `npm test` ~1.5 (session 20, load
 * ~10). By content, not by modification time: a checkout or a `git stash` touches every file it
 * restores, and two worktrees whose node_modules share the cache file (`cp -al`) still only skip
 * content that passed. A file that fails is never taken as formatted, cache or not. eslint and the
 * type check keep no cache: a type-aware rule's verdict on a file depends on the files it imports.
 */
export const PRETTIER_ARGS = ["--check", "--cache", "--cache-strategy", "content", "."];

/**
 * The checks, longest first. The type check and eslint (whose type-aware rules are the longest
 * chain) share one TypeScript program (check-types-lint.mjs): run apart, each built and typed the
 * whole tree (tsc --noEmit 16.3 CPU s and eslint 35.9 against 37-39 together, load ~13).
 */
const CHECKS = [
  { name: "typecheck and eslint", command: process.execPath, args: ["scripts/check-types-lint.mjs"] },
  { name: "prettier", bin: "prettier", args: PRETTIER_ARGS },
];

/**
 * Starts every check in `root` at once. Resolves, once all have ended, to each one's name, exit
 * status, wall seconds and output (standard output and error, interleaved as they came).
 */
export function startChecks(root) {
  return Promise.all(
    CHECKS.map(
      (check) =>
        new Promise((resolve) => {
          const started = Date.now();
          const command = check.command ?? join(root, "node_modules", ".bin", check.bin);
          const child = spawn(command, check.args, {
            cwd: root,
            stdio: ["ignore", "pipe", "pipe"],
          });
          let output = "";
          child.stdout.on("data", (d) => (output += d));
          child.stderr.on("data", (d) => (output += d));
          const done = (status, extra = "") =>
            resolve({
              name: check.name,
              status,
              wall: (Date.now() - started) / 1000,
              output: output + extra,
            });
          child.on("error", (err) => done(1, `${err.message}\n`));
          child.on("close", (code, signal) => done(code ?? 1, signal ? `killed by ${signal}\n` : ""));
        }),
    ),
  );
}

/** The checks' report: one line each; the output of those that failed. True when all passed. */
export function reportChecks(results, write) {
  const lines = ["", "checks (run beside the test files):"];
  for (const r of results) {
    lines.push(`${r.status === 0 ? "✔" : "✖"} ${r.name} (${r.wall.toFixed(1)} s wall, exit ${r.status})`);
    if (r.status !== 0) lines.push(r.output.trimEnd());
  }
  write(`${lines.join("\n")}\n`);
  return results.every((r) => r.status === 0);
}
