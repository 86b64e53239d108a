/**
 * The default backend: one local folder (DESIGN.md §3, §4).
 *
 *   DIR/lock        which process holds the folder (folderLock.ts)
 *   DIR/rows.log    the rows: an append-only log, fsync'd per group commit (logRowStore.ts)
 *   DIR/blobs/      one file per blob (blobFolder.ts)
 *   DIR/blobs-boot  with `volatileBlobs`: the boot of the system that last wrote blobs/ unsynced
 *
 * Only one process opens a folder at a time; a second gets Locked, naming the holder.
 */
import { mkdir, readFile, readdir, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Store } from "../types.ts";
import { BlobFolder } from "./blobFolder.ts";
import { FOLDER_MODE, replaceFile, syncFolder, tempPrefix, writeFully } from "./durableFs.ts";
import { lockFolder } from "./folderLock.ts";
import { unavailable } from "./fsFailure.ts";
import { LogRowStore, type RowLogOptions } from "./logRowStore.ts";

export interface EmbeddedStoreOptions extends RowLogOptions {
  /**
   * Blobs written without fsync (the local cache's copies: 2 fsyncs and their thread-pool trips
   * per APPEND saved). A killed process still leaves each blob whole or absent (temp file, then
   * rename; the page cache survives the process), but a crash of the OS may leave a renamed file
   * empty or short. So the folder records the boot it was written in, and an open in another
   * boot (the system restarted since) drops every blob first. Where the boot cannot be known
   * (no /proc/sys/kernel/random/boot_id), blobs are written durably as without this option.
   */
  volatileBlobs?: boolean;
  /** The current boot's id (tests); by default Linux's boot_id, undefined elsewhere. */
  bootId?: () => Promise<string | undefined>;
}

const BOOT_FILE = "blobs-boot";

async function linuxBootId(): Promise<string | undefined> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * With `volatileBlobs`: whether blobs may be written unsynced in this boot. Drops blobs/ when the
 * folder says unsynced blobs were written in another boot, then records this boot (durably,
 * before any unsynced write).
 */
async function volatileBlobsAllowed(folder: string, blobDir: string, options: EmbeddedStoreOptions) {
  if (!options.volatileBlobs) return false;
  const boot = await (options.bootId ?? linuxBootId)();
  if (!boot) return false;
  const path = join(folder, BOOT_FILE);
  const recorded = await readFile(path, "utf8").then(
    (text) => text.trim(),
    () => undefined,
  );
  if (recorded === boot) return true;
  if (recorded !== undefined) {
    // Written unsynced before a restart of the system: any of them may be torn.
    await rm(blobDir, { recursive: true, force: true });
    await mkdir(blobDir, { recursive: true, mode: FOLDER_MODE });
    await syncFolder(folder);
  }
  await replaceFile(
    folder,
    BOOT_FILE,
    (fh) => writeFully(fh, Buffer.from(`${boot}\n`), 0),
    () => syncFolder(folder),
  );
  return true;
}

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
    const volatile = await volatileBlobsAllowed(folder, blobDir, options).catch((err) => {
      throw unavailable("check the blob folder's boot", folder, err);
    });
    const blobs = await BlobFolder.open(blobDir, { durable: !volatile });
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
