#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=8 --heap-growing-percent=100
// The first line keeps a long-running server small (bench target: under 300 MB with 100,000
// messages): the old generation may only double between full collections (V8 lets it grow up to
// 4x), so dead large arrays and the buffers dead objects hold do not pile up; an 8 MB young
// generation (16 by default) frees short-lived objects sooner (1 MB saved more memory but made the
// header list 25% slower); two malloc arenas stop worker threads from each keeping their own.
// `node bin/aerogramme-local.js` runs without them, and larger.
// Runs the compiled JavaScript in dist/ when `npm run build` (run by `npm install`) made it from the
// sources as they are now; otherwise runs the TypeScript sources through tsx, so an edited tree never
// runs stale code. The compiled path starts faster and needs ~35 MB less memory (no loader thread).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sourceStamp, stampFile } from "./sourceStamp.js";

const root = fileURLToPath(new URL("..", import.meta.url));

function builtIsCurrent() {
  if (process.env.AEROGRAMME_LOCAL_FROM_SOURCE === "1") return false;
  try {
    return readFileSync(`${root}dist/${stampFile}`, "utf8").trim() === sourceStamp(`${root}src`);
  } catch {
    return false;
  }
}

let main;
if (builtIsCurrent()) {
  ({ main } = await import("../dist/cli/main.js"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
await main(process.argv);
