#!/usr/bin/env node
// Compiles src/ to dist/ (tsconfig.build.json) and stamps it with the sources' fingerprint, which
// bin/aerogramme-local.js checks before running dist/. Run by `npm install` (prepare) and `npm test`.
// With --if-stale (`npm test`, `npm run test:fast`) it does nothing when dist/ matches src/ already.
// Without the TypeScript compiler (a production-only install) it says so and leaves dist/ alone:
// the command line then runs the sources through tsx.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { sourceStamp, stampFile } from "../bin/sourceStamp.js";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  console.error("build: the TypeScript compiler is not installed; the CLI will run the sources through tsx");
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
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);
if (!existsSync("dist/cli/main.js")) {
  console.error("build: tsc wrote no dist/cli/main.js");
  process.exit(1);
}
// Sources edited while tsc ran would make the stamp lie; then leave dist/ unstamped (tsx runs).
if (sourceStamp("src") === stampBefore) writeFileSync(`dist/${stampFile}`, `${stampBefore}\n`);
else console.error("build: src/ changed during the build; run it again to use dist/");
