// The run's one compilation of its TypeScript (run-tests.mjs), and where test-loader-hooks.mjs
// finds a file's compiled twin. esbuild only strips the types, file by file, as tsx does (no
// bundling, no type check: `npm run typecheck` does that), with the same options ahead of the run
// and on the spot.
import { readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

/** Where the repository's sources live (run-tests.mjs compiles these). */
export const SOURCE_DIRS = ["src", "test", "bench"];

/** esbuild's options for one file, the same whether built ahead or compiled on the spot. */
export function transformOptions(path) {
  return {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcefile: path,
    sourcemap: "inline",
    sourcesContent: false,
    // tsconfig.json's target ES2022: class fields are defined, as tsc and tsx compile them.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  };
}

/** `root/dir/file.ts` compiled into `jsDir/dir/file.js`. */
export function twinOf(jsDir, root, path) {
  const rel = relative(root, path);
  if (rel.startsWith("..")) return undefined;
  return join(jsDir, rel.replace(/\.ts$/, ".js"));
}

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Compiles every `.ts` file of SOURCE_DIRS under `root` into `jsDir` (see twinOf). */
export async function compileForRun(root, jsDir) {
  const esbuild = await import("esbuild");
  const paths = SOURCE_DIRS.flatMap((d) => sources(join(root, d)));
  try {
    await Promise.all(
      paths.map(async (path) => {
        const out = await esbuild.transform(await readFile(path, "utf8"), transformOptions(path));
        const twin = twinOf(jsDir, root, path);
        await mkdir(dirname(twin), { recursive: true });
        await writeFile(twin, out.code);
      }),
    );
  } finally {
    // Its service process ends now, so that the run's CPU seconds (--durations) count it.
    await esbuild.stop();
  }
  return paths.length;
}
