// The module hooks of test-loader.mjs (they run on node's loader thread), for a process started on a
// `.ts` file rather than on its twin: a `.ts` file the run compiled resolves to its twin (whose own
// imports then need no hook), and one it did not compile (written since, or outside src/, test/ and
// bench/) is compiled on the spot, as tsx would.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transformOptions, twinOf } from "./test-compile.mjs";

let jsDir;
let root;

export function initialize(data) {
  jsDir = data.jsDir;
  root = data.root;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(root) || !resolved.url.endsWith(".ts")) return resolved;
  const twin = twinOf(jsDir, fileURLToPath(root), fileURLToPath(resolved.url));
  return twin && existsSync(twin) ? { url: pathToFileURL(twin).href, shortCircuit: true } : resolved;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const { transform } = await import("esbuild");
  const path = fileURLToPath(url);
  const out = await transform(await readFile(path, "utf8"), {
    ...transformOptions(path),
    sourcemap: "inline",
  });
  return { format: "module", source: out.code, shortCircuit: true };
}
