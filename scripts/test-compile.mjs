// The run's one compilation of its TypeScript (run-tests.mjs): every `.ts` file of src/, test/ and
// bench/ becomes a JavaScript twin under the run's folder that node loads as it is, with no module
// hooks. esbuild only strips the types, file by file, as tsx does (no bundling, no type check:
// `npm run typecheck` does that); then each twin's relative imports are pointed where they must go
// from the twin (linkTwin), and `import.meta`'s url, dirname and filename are the source file's, so
// that fixtures, `createRequire` and the paths of child scripts resolve as they do from the source.
// Hooks on Node 20 run on a thread of their own, a message there and back per resolve and per load:
// importing src/daemon/daemon.ts cost ~300 ms of CPU through them against ~150 from plain files.
import { existsSync, readdirSync, symlinkSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { Parser, tokTypes as tt } from "acorn";

/** Where the repository's sources live (run-tests.mjs compiles these). */
export const SOURCE_DIRS = ["src", "test", "bench"];

/** esbuild's options for one file, the same whether built ahead or compiled on the spot. */
export function transformOptions(path) {
  return {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcefile: path,
    // A map file beside the twin, not inline: node (--enable-source-maps) read an inline map of every
    // module it loaded, ~35 ms more CPU for the daemon's graph; a map file is read when a stack
    // trace needs it.
    sourcemap: "external",
    sourcesContent: false,
    // tsconfig.json's target ES2022: class fields are defined, as tsc and tsx compile them.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    // The twin lives elsewhere; what the source asks of import.meta is about the source.
    define: {
      "import.meta.url": JSON.stringify(pathToFileURL(path).href),
      "import.meta.dirname": JSON.stringify(dirname(path)),
      "import.meta.filename": JSON.stringify(path),
    },
  };
}

/** `root/dir/file.ts` compiled into `jsDir/dir/file.js`, or undefined when the run compiles no such file. */
export function twinOf(jsDir, root, path) {
  const rel = relative(root, path);
  if (rel.startsWith("..") || !SOURCE_DIRS.includes(rel.split(sep)[0]) || !rel.endsWith(".ts"))
    return undefined;
  return join(jsDir, rel.replace(/\.ts$/, ".js"));
}

/**
 * The string literals naming a module in `code` (static imports and exports, `import("...")`), as
 * `{ start, end, value }`. From acorn's tokens, not its tree: a full parse and a walk of every node
 * took ~0.6 CPU s of the runner for the ~640 files, the tokens ~0.17, with the same literals found
 * in every file. The tokenizer knows strings, templates, comments and regular expressions apart,
 * so text that only looks like an import inside them is not taken. A literal names a module when
 * it follows `from` (`import x from`, `export * from`), a bare `import` (`import "./side.ts"`, not
 * `import.meta`), or `import(` and is the call's first argument.
 */
function moduleSpecifiers(code) {
  const tokens = [...Parser.tokenizer(code, { ecmaVersion: "latest", sourceType: "module" })];
  const found = [];
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type !== tt.string) continue;
    const before = tokens[i - 1];
    const twoBefore = tokens[i - 2];
    const after = tokens[i + 1];
    const fromClause = before.type === tt.name && before.value === "from";
    const bareImport = before.type === tt._import;
    const dynamicImport =
      before.type === tt.parenL &&
      twoBefore?.type === tt._import &&
      (after?.type === tt.parenR || after?.type === tt.comma);
    if (fromClause || bareImport || dynamicImport) found.push({ start: t.start, end: t.end, value: t.value });
  }
  return found;
}

/**
 * `code`, compiled from `path`, with its relative imports fit to run from the twin: a `.ts` file the
 * run compiles by its twin's relative name (the tree is the same, so `./x.ts` becomes `./x.js`),
 * anything else (bin/, scripts/, package.json, a fixture) by its absolute URL. Bare specifiers
 * resolve through the `node_modules` link that compileForRun puts beside the twins.
 */
export function linkTwin(code, path, root, jsDir) {
  let out = code;
  const sources = moduleSpecifiers(code).sort((a, b) => b.start - a.start);
  for (const source of sources) {
    const spec = source.value;
    if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
    const target = resolve(dirname(path), spec);
    const linked = twinOf(jsDir, root, target) ? spec.replace(/\.ts$/, ".js") : pathToFileURL(target).href;
    out = `${out.slice(0, source.start)}${JSON.stringify(linked)}${out.slice(source.end)}`;
  }
  return out;
}

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // bench/.cache holds the generated corpora (100,000 files in one of them), no source.
    if (entry.isDirectory()) {
      if (entry.name !== ".cache" && entry.name !== "node_modules") out.push(...sources(path));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Compiles every `.ts` file of SOURCE_DIRS under `root` into `jsDir` (see twinOf and linkTwin). */
export async function compileForRun(root, jsDir) {
  const esbuild = await import("esbuild");
  const paths = SOURCE_DIRS.flatMap((d) => sources(join(root, d)));
  await mkdir(jsDir, { recursive: true });
  if (!existsSync(join(jsDir, "node_modules")))
    symlinkSync(join(root, "node_modules"), join(jsDir, "node_modules"));
  try {
    await Promise.all(
      paths.map(async (path) => {
        const out = await esbuild.transform(await readFile(path, "utf8"), transformOptions(path));
        const twin = twinOf(jsDir, root, path);
        await mkdir(dirname(twin), { recursive: true });
        await writeFile(
          twin,
          `${linkTwin(out.code, path, root, jsDir)}//# sourceMappingURL=${basename(twin)}.map\n`,
        );
        await writeFile(`${twin}.map`, out.map);
      }),
    );
  } finally {
    // Its service process ends now, so that the run's CPU seconds (--durations) count it.
    await esbuild.stop();
  }
  return paths.length;
}
