/**
 * The default backend: one local folder (DESIGN.md §3, §4).
 *
 *   DIR/lock        which process holds the folder (folderLock.ts)
 *   DIR/rows.log    the rows: an append-only log, fsync'd per group commit (logRowStore.ts)
 *   DIR/blobs/      one file per blob (blobFolder.ts)
 *
 * Only one process opens a folder at a time; a second gets Locked, naming the holder.
 */
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Store } from "../types.ts";
import { BlobFolder } from "./blobFolder.ts";
import { FOLDER_MODE, syncFolder, tempPrefix } from "./durableFs.ts";
import { lockFolder } from "./folderLock.ts";
import { unavailable } from "./fsFailure.ts";
import { LogRowStore, type RowLogOptions } from "./logRowStore.ts";

export type EmbeddedStoreOptions = RowLogOptions;

export interface EmbeddedStore extends Store {
  readonly dir: string;
  readonly blobs: BlobFolder;
  readonly rows: LogRowStore;
}

export async function openEmbeddedStore(
  dir: string,
  options: EmbeddedStoreOptions = {},
): Promise<EmbeddedStore> {
  const folder = resolve(dir);
  const blobDir = join(folder, "blobs");
  try {
    // 0700 for the data folder and blobs/ when made here (a folder that exists keeps its mode:
    // `start` tightens the home's folders, config/homePermissions.ts).
    await mkdir(blobDir, { recursive: true, mode: FOLDER_MODE });
  } catch (err) {
    throw unavailable("create the data folder", blobDir, err);
  }
  const lock = await lockFolder(folder);
  try {
    await removeTempFiles(folder).catch((err) => {
      throw unavailable("clean up the data folder", folder, err);
    });
    // A new data folder must not vanish in a crash: make its entry and the blob folder's durable.
    await syncFolder(dirname(folder));
    await syncFolder(folder);
    const blobs = await BlobFolder.open(blobDir);
    const rows = await LogRowStore.open(folder, options);
    let closing: Promise<void> | undefined;
    return {
      dir: folder,
      blobs,
      rows,
      close: () =>
        (closing ??= (async () => {
          try {
            await Promise.all([blobs.close(), rows.close()]);
          } finally {
            await lock.release();
          }
        })()),
    };
  } catch (err) {
    await lock.release().catch(() => {}); // the opening error is rethrown; a stale lock is taken over
    throw err;
  }
}

/**
 * Temp files a crash left behind (never renamed into place, so nobody relies on them). Young ones
 * are kept: another process may be creating its lock file there right now.
 */
async function removeTempFiles(folder: string): Promise<void> {
  for (const name of await readdir(folder)) {
    if (!name.startsWith(tempPrefix)) continue;
    const path = join(folder, name);
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    // Tidying only: a leftover that cannot be removed now is tried again at the next open.
    if (age > 60_000) await rm(path, { force: true }).catch(() => {});
  }
}
