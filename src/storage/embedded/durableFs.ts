/** The few durable file operations the embedded store is built from. */
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fsErrorCode, unavailable } from "./fsFailure.ts";

/**
 * Modes of everything the store makes, whatever the process's umask: the row log and blobs hold
 * sealed data, the key root among it, which other users must not copy to guess the password
 * offline (issue 12).
 */
export const FILE_MODE = 0o600;
export const FOLDER_MODE = 0o700;

/** Temp files start with a dot; no encoded blob name or store file does. */
export const tempPrefix = ".tmp-";

export function tempName(): string {
  return `${tempPrefix}${randomBytes(8).toString("hex")}`;
}

/** Makes the entries of a folder (creations, renames, removals) durable. */
export async function syncFolder(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (err) {
    // Some platforms cannot fsync a folder (EISDIR/EINVAL); their rename is then all we have.
    const code = fsErrorCode(err);
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM") {
      throw unavailable("sync the folder", dir, err);
    }
  } finally {
    await fh?.close().catch(() => {}); // a folder handle holds no data of its own
  }
}

/**
 * syncFolder for a folder synced often (the blob folder: once per put), with the folder opened
 * once instead of an open and a close around every fsync: two fewer trips through libuv's thread
 * pool on a write's acknowledgement path.
 */
export class HeldFolder {
  private handle: Promise<FileHandle | undefined> | undefined;

  constructor(private readonly dir: string) {}

  async sync(): Promise<void> {
    // A folder that cannot be held open is synced the ordinary way.
    const fh = await (this.handle ??= open(this.dir, "r").catch(() => undefined));
    if (!fh) return syncFolder(this.dir);
    try {
      await fh.sync();
    } catch (err) {
      const code = fsErrorCode(err);
      if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM") {
        throw unavailable("sync the folder", this.dir, err);
      }
    }
  }

  async close(): Promise<void> {
    const fh = await this.handle;
    this.handle = undefined;
    await fh?.close().catch(() => {}); // a folder handle holds no data of its own
  }
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
    done += bytesWritten;
  }
}

/** Writes `parts` one after another from `position`, in as few calls as the system takes. */
export async function writeAllFully(
  fh: FileHandle,
  parts: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let left = parts.filter((p) => p.length > 0);
  let at = position;
  while (left.length > 0) {
    let { bytesWritten } = await fh.writev(left, at);
    if (bytesWritten <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
    at += bytesWritten;
    // Past the parts written whole; the one cut short goes on from where it stopped.
    let i = 0;
    while (i < left.length && bytesWritten >= left[i]!.length) bytesWritten -= left[i++]!.length;
    left = left.slice(i);
    if (bytesWritten > 0) left[0] = left[0]!.subarray(bytesWritten);
  }
}

/** Reads exactly `length` bytes at `position`, or fewer if the file ends first. */
export async function readFully(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) return out.subarray(0, done);
    done += bytesRead;
  }
  return out;
}

/**
 * Creates or replaces `dir/name` atomically and durably: temp file, fsync, rename, fsync of the
 * folder (through `syncDir`, so that concurrent writers can share it). A crash leaves the old file
 * or the new one, never a mix. With `syncFile` false (and a `syncDir` that does nothing) the
 * replacement is atomic for a killed process but not for a crash of the OS (see
 * embeddedStore.ts, `volatileBlobs`).
 */
export async function replaceFile(
  dir: string,
  name: string,
  fill: (fh: FileHandle, tempPath: string) => Promise<void>,
  syncDir: () => Promise<void>,
  syncFile = true,
): Promise<void> {
  const tempPath = join(dir, tempName());
  const finalPath = join(dir, name);
  try {
    const fh = await open(tempPath, "wx", FILE_MODE);
    try {
      await fill(fh, tempPath);
      if (syncFile) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tempPath, finalPath);
  } catch (err) {
    await rm(tempPath, { force: true }).catch(() => {}); // the write's own error is rethrown
    throw err;
  }
  await syncDir();
}
