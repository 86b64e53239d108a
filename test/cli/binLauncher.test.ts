/**
 * bin/aerogramme-local.js runs dist/ only when its stamp matches src/ as it is now, and the sources
 * through tsx otherwise, and `deliver` through its own entry. Checked on a small copy of the layout
 * (bin/, src/, dist/, node_modules link) whose entry points say which one ran.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sourceStamp, stampFile } from "../../bin/sourceStamp.js";
import { REPO } from "./cliHarness.ts";

const run = promisify(execFile);
const entry = (from: string) =>
  `export async function main(argv) { console.log("${from}", argv.slice(2).join(" ")); }\n`;

describe("the bin launcher", () => {
  let root: string;
  const launch = async (env: Record<string, string> = {}, command = "status") =>
    (
      await run(process.execPath, [join(root, "bin/aerogramme-local.js"), command], {
        env: { ...process.env, AEROGRAMME_LOCAL_FROM_SOURCE: "", ...env },
      })
    ).stdout.trim();
  const stamp = () => writeFile(join(root, "dist", stampFile), `${sourceStamp(join(root, "src"))}\n`);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "agl-bin-"));
    await cp(join(REPO, "bin"), join(root, "bin"), { recursive: true });
    await symlink(join(REPO, "node_modules"), join(root, "node_modules"));
    await writeFile(join(root, "package.json"), '{ "type": "module" }\n');
    await mkdir(join(root, "src/cli"), { recursive: true });
    await mkdir(join(root, "dist/cli"), { recursive: true });
    await writeFile(join(root, "src/cli/main.ts"), entry("source"));
    await writeFile(join(root, "dist/cli/main.js"), entry("dist"));
    await writeFile(join(root, "src/cli/deliverMain.ts"), entry("source deliver entry"));
    await writeFile(join(root, "dist/cli/deliverMain.js"), entry("dist deliver entry"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("without a stamp, the sources run", async () => {
    assert.equal(await launch(), "source status");
  });

  test("with a stamp that matches src/, dist/ runs", async () => {
    await stamp();
    assert.equal(await launch(), "dist status");
  });

  test("AEROGRAMME_LOCAL_FROM_SOURCE=1 runs the sources even so", async () => {
    await stamp();
    assert.equal(await launch({ AEROGRAMME_LOCAL_FROM_SOURCE: "1" }), "source status");
  });

  test("a source file edited after the build makes the sources run again", async () => {
    await stamp();
    const later = new Date(Date.now() + 5_000);
    await utimes(join(root, "src/cli/main.ts"), later, later);
    assert.equal(await launch(), "source status");
  });

  test("a source file added after the build does too", async () => {
    await stamp();
    await writeFile(join(root, "src/cli/extra.ts"), "export {};\n");
    assert.equal(await launch(), "source status");
    await stamp();
    assert.equal(await launch(), "dist status");
  });

  test("`deliver` starts through its own entry, from dist/ or the sources by the same rule", async () => {
    await stamp();
    assert.equal(await launch({}, "deliver"), "dist deliver entry deliver");
    assert.equal(
      await launch({ AEROGRAMME_LOCAL_FROM_SOURCE: "1" }, "deliver"),
      "source deliver entry deliver",
    );
    assert.equal(await launch({}, "status"), "dist status");
  });
});
