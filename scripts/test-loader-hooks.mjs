// The module hooks of test-loader.mjs (they run on node's loader thread): a `.ts` file of the
// repository loads as its compiled twin under the run's folder; a `.ts` file the run did not compile
// (one written since, or outside src/, test/ and bench/) is compiled on the spot, as tsx would.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transformOptions, twinOf } from "./test-compile.mjs";

let jsDir;
let root;

export function initialize(data) {
  jsDir = data.jsDir;
  root = data.root;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const twin = url.startsWith(root) ? twinOf(jsDir, fileURLToPath(root), fileURLToPath(url)) : undefined;
  const compiled = twin && (await readFile(twin, "utf8").catch(() => undefined));
  if (compiled !== undefined) return { format: "module", source: compiled, shortCircuit: true };
  const { transform } = await import("esbuild");
  const path = fileURLToPath(url);
  const out = await transform(await readFile(path, "utf8"), transformOptions(path));
  return { format: "module", source: out.code, shortCircuit: true };
}
