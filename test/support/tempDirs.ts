/**
 * Temp folders for one test file: `const tempDir = tempDirs("agl-x-")` at the top level, then
 * `await tempDir()` in any test; every folder made is removed after the file's tests.
 */
import { after } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDirs(prefix: string): () => Promise<string> {
  const folders: string[] = [];
  after(async () => {
    for (const dir of folders) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    folders.push(dir);
    return dir;
  };
}
