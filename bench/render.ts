/**
 * `npm run bench:report`: renders bench/RESULTS.md again from the saved runs (bench/results/*.json),
 * bench/load.md and bench/notes.md, without running anything. For after an edit of the notes, or a
 * merge of two branches that both added to them.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeResults } from "./report.ts";
import { targetNames } from "./targets.ts";

const benchDir = dirname(fileURLToPath(import.meta.url));
await writeResults(
  join(benchDir, "results"),
  join(benchDir, "RESULTS.md"),
  join(benchDir, "notes.md"),
  targetNames,
);
console.log("bench/RESULTS.md rendered again");
