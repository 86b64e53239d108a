/**
 * A small file of the home written whole or not at all, readable by its owner only: a temp file
 * created with mode 0600, flushed, then renamed over the old one (never readable by others, not
 * even briefly; a crash leaves the old file or the new one, and at worst a temp file).
 */
import { chmod, mkdir, open, rename } from "node:fs/promises";
import { dirname } from "node:path";

export async function writePrivateFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temp, 0o600);
  await rename(temp, path);
}
