#!/usr/bin/env node
// Bundles src/ into dist/ with esbuild and stamps it with the sources' fingerprint, which
// bin/aerogramme-local.js checks before running dist/. Run by `npm install` (prepare) and `npm test`.
// With --if-stale (`npm test`, `npm run test:fast`) it does nothing when dist/ matches src/ already.
// Without esbuild (tsx brings it, so only a broken install lacks it) it says so and leaves dist/
// alone: the command line then runs the sources through tsx.
//
// A bundle, not tsc's file per module: a start of `start` loaded 230 modules of dist/ through
// Node's ES module loader (resolve, read, link each), ~0.24 CPU s to its ready line against ~0.16
// from the bundle (bench/notes.md, wt-fast); the CLI tests start the binary ~100 times. Each
// command's module is still imported when the command runs (main.ts), so esbuild splits the
// bundle at every `await import`: a quick command loads no more than before. esbuild strips the
// types without checking them (tsc took ~11 CPU s for what esbuild does in ~0.6): `npm test`
// type-checks the tree beside the tests (scripts/check-types-lint.mjs), as `npm run typecheck` does.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceStamp, stampFile } from "../bin/sourceStamp.js";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  console.error("build: esbuild is not installed; the CLI will run the sources through tsx");
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

/**
 * Every module's `import.meta.url` stays the URL of the file tsc would have written for it
 * (`dist/cli/service/serviceFiles.js`), whichever file of the bundle holds it, so paths built from
 * it (the launcher a service unit names, `createRequire`) resolve as from the sources. Every file
 * of the bundle sits one folder below dist/ (cli/ for the entries, chunks/ for the rest; checked
 * below), so `../` from any of them is dist/. `import.meta.dirname` and `filename` would name the
 * bundle's file: refused.
 */
const moduleUrls = {
  name: "module-urls",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const code = await readFile(args.path, "utf8");
      if (!code.includes("import.meta")) return undefined;
      const rel = relative("src", args.path);
      if (/import\.meta\.(dirname|filename)\b/.test(code))
        throw new Error(`${rel}: use import.meta.url (dirname and filename would name the bundle's file)`);
      const url = `new URL(${JSON.stringify(`../${rel.replace(/\.ts$/, ".js")}`)}, import.meta.url).href`;
      return { contents: code.replaceAll("import.meta.url", url), loader: "ts" };
    });
  },
};

rmSync("dist", { recursive: true, force: true });
const result = await esbuild
  .build({
    entryPoints: ["src/cli/main.ts", "src/cli/deliverMain.ts"],
    outbase: "src",
    outdir: "dist",
    entryNames: "[dir]/[name]",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Packages load from node_modules as before: several are CommonJS loaded with `require` on
    // purpose (docs/architecture.md, "Running: build and memory"), sodium-native is native.
    packages: "external",
    // tsconfig.json's target ES2022: class fields are defined, as tsc compiled them.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    metafile: true,
    logLevel: "warning",
    plugins: [moduleUrls],
  })
  .catch(() => null);
if (!result) process.exit(1);
const misplaced = Object.keys(result.metafile.outputs).filter((out) => out.split("/").length !== 3);
if (misplaced.length > 0) {
  console.error(`build: bundle files not one folder below dist/: ${misplaced.join(", ")}`);
  process.exit(1);
}
if (!existsSync("dist/cli/main.js") || !existsSync("dist/cli/deliverMain.js")) {
  console.error("build: esbuild wrote no dist/cli/main.js or dist/cli/deliverMain.js");
  process.exit(1);
}
// Sources edited during the build would make the stamp lie; then leave dist/ unstamped (tsx runs).
if (sourceStamp("src") === stampBefore) writeFileSync(`dist/${stampFile}`, `${stampBefore}\n`);
else console.error("build: src/ changed during the build; run it again to use dist/");
