/**
 * Where this computer keeps its snapshots of mailbox indexes between runs (sync/localSnapshot.ts):
 * `<dir>/<account>/<sha256(path)>.snap`, sealed with the subkey "local-index-snapshot" and bound to
 * the index's path, so a file cannot be read, forged or moved to another mailbox without the key.
 * `dir` is `index/` in the cache folder: deleting it is always safe (the next start replays the op
 * rows, as before). Written atomically but not fsynced: a snapshot lost in a crash only costs time.
 * A file that does not open is ignored and replaced at the next save.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { open, sealParts, type SealContext } from "../crypto/aead.ts";
import { deriveSubkey } from "../crypto/keyRoot.ts";
import type { SnapshotKeeper } from "../sync/localSnapshot.ts";

export function indexSnapshots(dir: string, masterKey: Uint8Array): SnapshotKeeper {
  const key = deriveSubkey(masterKey, "local-index-snapshot");
  const account = Buffer.from(deriveSubkey(masterKey, "local-index-snapshot-folder")).subarray(0, 12);
  const folder = join(dir, account.toString("hex"));
  const context = (path: string): SealContext => ({ purpose: "local-index-snapshot", path });
  const fileOf = (path: string) =>
    join(folder, `${createHash("sha256").update(path).digest("hex").slice(0, 32)}.snap`);
  let made: Promise<unknown> | undefined;
  return {
    async load(path) {
      try {
        // Read at once, not through libuv's pool (open, stat, reads, close: a trip each): the first
        // SELECT of a run waits on it, and the file is one page-cached read of ~60 bytes a message.
        return open(key, readFileSync(fileOf(path)), context(path));
      } catch {
        return undefined; // none yet, or damaged: the first sync replays the rows
      }
    },
    async save(path, parts) {
      made ??= mkdir(folder, { recursive: true, mode: 0o700 });
      await made;
      const file = fileOf(path);
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, sealParts(key, parts, context(path)), { mode: 0o600 });
      await rename(temp, file);
    },
  };
}
