/**
 * copyTree (test/support/copyTree.ts) copies as the test homes need: the contents into the target
 * (not a folder inside it), nested folders, modes kept (the CLI checks a home's 0700), and over
 * files already there.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { copyTree } from "./copyTree.ts";

test("the contents land in the target with their modes, over what is there", async () => {
  const root = await mkdtemp(join(tmpdir(), "agl-copytree-"));
  try {
    const from = join(root, "from");
    await mkdir(join(from, "data", "blobs"), { recursive: true });
    await writeFile(join(from, "settings.json"), "{}");
    await writeFile(join(from, "data", "blobs", "b1"), "blob");
    await chmod(join(from, "data"), 0o700);
    await chmod(join(from, "settings.json"), 0o600);
    const to = join(root, "to");
    await mkdir(to);
    await writeFile(join(to, "settings.json"), "old");
    await copyTree(from, to);
    assert.equal(await readFile(join(to, "settings.json"), "utf8"), "{}");
    assert.equal(await readFile(join(to, "data", "blobs", "b1"), "utf8"), "blob");
    assert.equal((await stat(join(to, "data"))).mode & 0o777, 0o700);
    assert.equal((await stat(join(to, "settings.json"))).mode & 0o777, 0o600);
    // A target that does not exist yet is made.
    await copyTree(from, join(root, "fresh"));
    assert.equal(await readFile(join(root, "fresh", "data", "blobs", "b1"), "utf8"), "blob");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
