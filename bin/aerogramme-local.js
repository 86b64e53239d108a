#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=1048576 node --max-semi-space-size=4 --heap-growing-percent=50
// The first line keeps a long-running server small (bench target: under 300 MB with 100,000
// messages): the old generation may only grow by half between full collections (V8 lets it grow up
// to 4x; doubling, as before, left the 100,000-message bench session's peak ~10 MB higher, for no
// CPU the 10,000-message runs could tell apart), so dead large arrays and the buffers dead objects
// hold do not pile up; 4 MB semi-spaces (the young generation then commits 8 MB, against 16 MB
// with 8 MB ones) free short-lived objects sooner and hold ~8 MB less at all times, for ~2% more
// CPU on the header list (2 MB: ~14%, 1 MB: ~25%);
// two malloc arenas stop worker threads from each keeping their own. glibc's fixed thresholds (issue
// 18): a block of 64 KiB or more (a message body, a row-log run) is mapped on its own and unmapped
// when freed, and a free top of the heap over 1 MiB is given back; glibc's default raises its mmap
// threshold to the size of the largest block freed, after which bodies and runs land in the heap
// and their pages stay when freed. Under the load tool: ~21 MB (12%) less RSS over the last two
// minutes of a 6-minute run, with no measurable cost in throughput; a BODY search at 10,000
// messages left +10-12 MB without a fixed threshold, +1-4 MB with one (bench/notes.md). Other C
// libraries ignore these.
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

// `deliver`, started once per message by a mail host, has an entry that skips commander and the
// other commands (src/cli/deliverMain.ts); it hands anything but its plain forms to main.
const entry = process.argv[2] === "deliver" ? "deliverMain" : "main";
let main;
if (builtIsCurrent()) {
  ({ main } = await import(`../dist/cli/${entry}.js`));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(`../src/cli/${entry}.ts`));
}
await main(process.argv);
