/**
 * The node flags that let a child process run a `.ts` file. Under scripts/run-tests.mjs the child
 * loads the run's compiled twins, as the test files do (scripts/test-loader.mjs): a start through
 * tsx cost ~0.3 CPU s more. Run by hand, without the run's folder, the loader registers tsx.
 */
import { fileURLToPath } from "node:url";

export const TS_CHILD_FLAGS = [
  "--import",
  fileURLToPath(new URL("../../scripts/test-loader.mjs", import.meta.url)),
] as const;
