// How scripts/build.mjs bundles src/ with esbuild, apart so that a test can bundle into a folder of
// its own (test/scripts/bundle.test.ts).
//
// Two builds. The first bundles src/cli/main.ts, every command, split at every `await import` into
// dist/chunks/. The second bundles src/cli/deliverMain.ts alone, split into dist/deliver/: a mail
// host starts `deliver` once per message, and in the first build the few modules its start needs
// (settings, home, exit codes, control client) sat in nine small chunks shared with the other
// commands, each one more file for Node's ES module loader to resolve, read and link (~0.5-1 ms of
// CPU apiece; bench/notes.md, wt-deliver, session 20). In a build of its own they form one chunk.
// deliverMain.ts hands any start it does not read itself to main.ts (`await import("./main.ts")`),
// which stays in the first build: only argv crosses, so the two copies of a module (errors.ts's
// classes, say) never meet in one `instanceof`. `deliver`'s own path, the direct delivery when no
// server runs included, stays inside the second build.
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = `${root}src`;

/**
 * Every module's `import.meta.url` stays the URL of the file tsc would have written for it
 * (`dist/cli/service/serviceFiles.js`), whichever file of the bundle holds it, so paths built from
 * it (the launcher a service unit names, `createRequire`) resolve as from the sources. Every file
 * of the bundle sits one folder below dist/ (cli/ for the entries, chunks/ and deliver/ for the
 * rest; checked by build.mjs), so `../` from any of them is dist/. `import.meta.dirname` and
 * `filename` would name the bundle's file: refused.
 */
const moduleUrls = {
  name: "module-urls",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const code = await readFile(args.path, "utf8");
      if (!code.includes("import.meta")) return undefined;
      const rel = relative(src, args.path);
      if (/import\.meta\.(dirname|filename)\b/.test(code))
        throw new Error(`${rel}: use import.meta.url (dirname and filename would name the bundle's file)`);
      const url = `new URL(${JSON.stringify(`../${rel.replace(/\.ts$/, ".js")}`)}, import.meta.url).href`;
      return { contents: code.replaceAll("import.meta.url", url), loader: "ts" };
    });
  },
};

/** In the deliver build, deliverMain.ts's hand-off imports the first build's dist/cli/main.js. */
const mainOutside = {
  name: "main-outside",
  setup(build) {
    build.onResolve({ filter: /^\.\/main\.ts$/ }, (args) => {
      if (args.importer !== `${src}/cli/deliverMain.ts`)
        throw new Error(`${relative(src, args.importer)}: only cli/deliverMain.ts may import ./main.ts`);
      return { path: "./main.js", external: true };
    });
  },
};

const common = {
  outbase: src,
  entryNames: "[dir]/[name]",
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
};

/**
 * Bundles src/ into `outdir` (dist/cli/main.js, dist/cli/deliverMain.js and their chunks) and
 * returns the files written, by path as esbuild names them (relative to the working folder).
 * Rejects when esbuild reports an error (it has printed it).
 */
export async function bundle(esbuild, outdir) {
  const [commands, deliver] = await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [`${src}/cli/main.ts`],
      outdir,
      chunkNames: "chunks/[name]-[hash]",
      plugins: [moduleUrls],
    }),
    esbuild.build({
      ...common,
      entryPoints: [`${src}/cli/deliverMain.ts`],
      outdir,
      chunkNames: "deliver/[name]-[hash]",
      plugins: [moduleUrls, mainOutside],
    }),
  ]);
  return { outputs: { ...commands.metafile.outputs, ...deliver.metafile.outputs } };
}
