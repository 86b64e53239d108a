/**
 * The embedded store (the default backend's data folder and every local cache) makes its folders
 * 0700 and its files 0600 whatever the process's umask (issue 12): the row log and blobs hold the
 * key root, which another user could copy to guess the password offline.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";

const made: string[] = [];
after(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

test("under umask 022, a new store's folders are 0700 and its files 0600, after a compaction too", async () => {
  const root = await mkdtemp(join(tmpdir(), "agl-modes-"));
  made.push(root);
  const folder = join(root, "cache", "0123abcd"); // made with its parents, as a cache folder is
  const oldMask = process.umask(0o022);
  try {
    const store = await openEmbeddedStore(folder, { compactMinDeadBytes: 16 * 1024 });
    try {
      await store.blobs.put("keys/root", new Uint8Array(100).fill(7));
      // Rewrite one row until the dead bytes pass the threshold: the log is compacted into a new file.
      for (let i = 0; i < 40; i++) {
        const row = await store.rows.read("p", "s");
        await store.rows.insert("p", "s", new Uint8Array(1024).fill(i), row?.token);
      }
      await store.rows.compact();
      assert.equal(await modeOf(join(folder, "lock")), 0o600);
    } finally {
      await store.close();
    }
  } finally {
    process.umask(oldMask);
  }
  for (const dir of [join(root, "cache"), folder, join(folder, "blobs")])
    assert.equal((await modeOf(dir)).toString(8), "700", dir);
  for (const name of await readdir(folder)) {
    const path = join(folder, name);
    if ((await stat(path)).isFile()) assert.equal((await modeOf(path)).toString(8), "600", path);
  }
  const blobs = await readdir(join(folder, "blobs"));
  assert.equal(blobs.length, 1);
  assert.equal((await modeOf(join(folder, "blobs", blobs[0]!))).toString(8), "600");
});
