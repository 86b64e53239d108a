#!/usr/bin/env node
// Bundles src/ into dist/ with esbuild and stamps it with the sources' fingerprint, which
// bin/aerogramme-local.js checks before running dist/. Run by `npm install` (prepare) and `npm test`.
// With --if-stale (`npm test`, `npm run test:fast`) it does nothing when dist/ matches src/ already.
// Without esbuild (tsx brings it, so only a broken install lacks it) it says so and leaves dist/
// alone: the command line then runs the sources through tsx.
//
// A bundle, not tsc's file per module: a start of `start` loaded 230 modules of dist/ through
// Node's ES module loader (resolve, read, link each), ~0.24 CPU s to its ready line against ~0.16
// from the bundle (bench/notes.md, wt-fast); the CLI tests start the binary ~100 times. Each
// command's module is still imported when the command runs (main.ts), so esbuild splits the
// bundle at every `await import`: a quick command loads no more than before. esbuild strips the
// types without checking them (tsc took ~11 CPU s for what esbuild does in ~0.6): `npm test`
// type-checks the tree beside the tests (scripts/check-types-lint.mjs), as `npm run typecheck` does.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sourceStamp, stampFile } from "../bin/sourceStamp.js";
import { bundle } from "./bundle.mjs";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  console.error("build: esbuild is not installed; the CLI will run the sources through tsx");
  process.exit(0);
}
const stampBefore = sourceStamp("src");
const builtStamp = () => {
  try {
    return readFileSync(`dist/${stampFile}`, "utf8").trim();
  } catch {
    return undefined;
  }
};
if (process.argv.includes("--if-stale") && builtStamp() === stampBefore) process.exit(0);

rmSync("dist", { recursive: true, force: true });
const result = await bundle(esbuild, "dist").catch(() => null);
if (!result) process.exit(1);
const misplaced = Object.keys(result.outputs).filter((out) => out.split("/").length !== 3);
if (misplaced.length > 0) {
  console.error(`build: bundle files not one folder below dist/: ${misplaced.join(", ")}`);
  process.exit(1);
}
if (!existsSync("dist/cli/main.js") || !existsSync("dist/cli/deliverMain.js")) {
  console.error("build: esbuild wrote no dist/cli/main.js or dist/cli/deliverMain.js");
  process.exit(1);
}
// Sources edited during the build would make the stamp lie; then leave dist/ unstamped (tsx runs).
if (sourceStamp("src") === stampBefore) writeFileSync(`dist/${stampFile}`, `${stampBefore}\n`);
else console.error("build: src/ changed during the build; run it again to use dist/");
