/**
 * How a test starts node on a `.ts` file. Under scripts/run-tests.mjs the child runs the file's
 * compiled twin, as the test files do (scripts/test-compile.mjs), with no loader: a start through
 * the loader's hooks cost ~0.17 CPU s more for the daemon's modules, through tsx ~0.3 more still.
 * Run by hand, without the run's folder, the child takes the loader, which registers tsx.
 */
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(import.meta.dirname, "../..");
const LOADER = fileURLToPath(new URL("../../scripts/test-loader.mjs", import.meta.url));

/** The file node should load for the source `path`: its twin under a run, else `path` itself. */
export function runnableFile(path: string): string {
  const jsDir = process.env.AGL_TEST_JS_DIR;
  if (!jsDir || !path.endsWith(".ts")) return path;
  const twin = join(jsDir, relative(REPO, path)).replace(/\.ts$/, ".js");
  return existsSync(twin) ? twin : path;
}

/**
 * The node flags for a child that loads `files` (runnableFile's answers): source maps for twins, so
 * that a child's stack trace names .ts lines, or the loader when one is a `.ts` file.
 */
export function childFlagsFor(files: string[]): string[] {
  return files.every((f) => !f.endsWith(".ts")) ? ["--enable-source-maps"] : ["--import", LOADER];
}

/** The node arguments that run the `.ts` file `path` (in place of `path` itself). */
export function tsNodeArgs(path: string): string[] {
  const file = runnableFile(path);
  return [...childFlagsFor([file]), file];
}
