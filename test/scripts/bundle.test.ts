// What a start of `deliver` loads from the bundle scripts/bundle.mjs makes: a mail host starts it
// once per message, so its files are kept few and apart from the other commands' chunks, and
// node:crypto and env-paths (whose ES imports build the namespaces of crypto and process) stay
// unloaded unless something seals or the OS's folders come from env-paths.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { bundle } from "../../scripts/bundle.mjs";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The files a module loads before its code runs: itself and its static imports, transitively. */
async function staticGraph(file: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const code = await readFile(file, "utf8");
  for (const m of code.matchAll(/^(?:import|export)\s[^;]*?["'](\.\.?\/[^"']+)["']/gms))
    await staticGraph(join(dirname(file), m[1]!), seen);
  return seen;
}

describe("the bundle's deliver start", () => {
  let dir: string;
  let out: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "agl-bundle-"));
    out = join(dir, "dist");
    await bundle(esbuild, out);
    // The bundle's packages resolve from here, as from the repository's dist/.
    await symlink(join(REPO, "node_modules"), join(dir, "node_modules"));
    await writeFile(join(dir, "package.json"), '{ "type": "module" }\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** deliverMain.js's static graph and the `deliver` command's chunk it imports for a plain start. */
  async function deliverStart(): Promise<string[]> {
    const entry = join(out, "cli/deliverMain.js");
    const command = /import\("(\.\.\/[^"]+\/deliver-[^"]+\.js)"\)/.exec(await readFile(entry, "utf8"));
    assert.ok(command, "deliverMain.js imports the deliver command's chunk");
    const files = await staticGraph(entry);
    await staticGraph(join(dirname(entry), command[1]!), files);
    return [...files].map((f) => relative(out, f)).sort();
  }

  test("loads a handful of files of its own build, none of the other commands' chunks", async () => {
    const files = await deliverStart();
    assert.deepEqual(
      files.filter((f) => f !== "cli/deliverMain.js" && !f.startsWith("deliver/")),
      [],
      `files of deliver's start: ${files.join(", ")}`,
    );
    // Six today: the entry, the command and four shared chunks (the direct delivery shares them).
    assert.ok(files.length <= 6, `files of deliver's start: ${files.join(", ")}`);
  });

  test("imports no node:crypto before the message is sealed", async () => {
    for (const f of await deliverStart()) {
      const code = await readFile(join(out, f), "utf8");
      assert.doesNotMatch(code, /^import[^;]*["']node:crypto["']/m, `${f} imports node:crypto`);
    }
  });

  test("imports env-paths only where its folders are taken (macOS, Windows)", async () => {
    for (const f of await deliverStart()) {
      const code = await readFile(join(out, f), "utf8");
      assert.doesNotMatch(code, /^import[^;]*["']env-paths["']/m, `${f} imports env-paths`);
    }
  });

  test("a start on a home that is not set up ends with exit 6, node:crypto unloaded", async () => {
    const home = join(dir, "home");
    const script =
      "const { main } = await import(process.argv.at(-1)); await main(['node', 'aerogramme-local', 'deliver']);" +
      "process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => /crypto/.test(m))));";
    const r = await run(
      process.execPath,
      ["--input-type=module", "-e", script, join(out, "cli/deliverMain.js")],
      { env: { ...process.env, AEROGRAMME_LOCAL_HOME: home }, cwd: dir, timeout: 30_000 },
    ).then(
      (ok) => ({ code: 0, ...ok }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /nothing is set up/);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  test("the launcher's source stamp loads no node:crypto", async () => {
    const script =
      "await import(process.argv.at(-1));" +
      "process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => /crypto/.test(m))));";
    const r = await run(
      process.execPath,
      ["--input-type=module", "-e", script, join(REPO, "bin/sourceStamp.js")],
      { timeout: 30_000 },
    );
    assert.deepEqual(JSON.parse(r.stdout), []);
  });
});
