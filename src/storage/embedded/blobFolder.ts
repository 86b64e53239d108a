/**
 * BlobStore over a folder: one file per key (see blobFileNames.ts). Writes are atomic and durable
 * (temp file, fsync, rename, fsync of the folder, shared among concurrent writers). The sorted key
 * list is kept in memory (compactly, blobKeySet.ts), since only this process may open the folder
 * (folderLock.ts); listing is then a binary search, not a scan of the folder.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { open, readdir, rm, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { AppError, NotFound } from "../../errors.ts";
import { clipRange } from "../blobRange.ts";
import type { BlobHead, BlobListing, BlobStore, ByteRange } from "../types.ts";
import { blobFileName, blobKeyOf } from "./blobFileNames.ts";
import { BlobKeySet } from "./blobKeySet.ts";
import { HeldFolder, readFully, replaceFile, tempPrefix, writeFully } from "./durableFs.ts";
import { fsErrorCode, unavailable } from "./fsFailure.ts";
import { GroupSync } from "./groupSync.ts";
import { KeyedQueue } from "../keyedQueue.ts";

const copyChunkBytes = 1 << 20;
/**
 * Reads of up to this many bytes are made synchronously: open, stat, read and close of a small
 * file from the page cache take tens of microseconds, while each of them through libuv's thread
 * pool costs a round trip to another thread and back (four per body: 200 bodies took ~50 ms
 * against Dovecot's 5 ms). Larger reads keep the event loop free. The bound holds what FETCH
 * reads of a large body at a time: a 256 KiB piece spans at most five sealed 64 KiB chunks (16
 * bytes of MAC each) and, from the body's start, the stream header; at 256 KiB even, every such
 * piece (262,208 bytes and more) went through the pool, four trips and a read each.
 */
const SYNC_READ_MAX = 330 * 1024;

export class BlobFolder implements BlobStore {
  private readonly folderSync: GroupSync;
  private readonly folder: HeldFolder;
  private readonly writes = new KeyedQueue();
  private closed = false;

  private constructor(
    private readonly dir: string,
    /** Every key. */
    private readonly keys: BlobKeySet,
    /** False: no fsync of files or of the folder (embeddedStore.ts, `volatileBlobs`). */
    private readonly durable: boolean,
  ) {
    this.folder = new HeldFolder(dir);
    this.folderSync = new GroupSync(() => (this.durable ? this.folder.sync() : Promise.resolve()));
  }

  /**
   * Opens the blob folder `dir` (made if missing) and removes temp files a crash left behind.
   * `durable: false` writes without fsync: atomic still for a killed process, not for a crash of
   * the OS, which only a folder that the caller can drop after such a crash may accept.
   */
  static async open(dir: string, { durable = true }: { durable?: boolean } = {}): Promise<BlobFolder> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw unavailable("list the blob folder", dir, err);
    }
    const keys: string[] = [];
    for (const name of names) {
      if (name.startsWith(tempPrefix)) {
        // A put cut short by a crash; never listed, and removed again at the next listing.
        await rm(join(dir, name), { force: true }).catch(() => {});
        continue;
      }
      const key = blobKeyOf(name);
      if (key !== undefined) keys.push(key);
    }
    return new BlobFolder(dir, BlobKeySet.of(keys), durable);
  }

  private pathOf(key: string): string {
    return join(this.dir, blobFileName(key));
  }

  private assertOpen(): void {
    if (this.closed) throw unavailable("use the closed store", this.dir, new Error("it was closed"));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.assertOpen();
    const name = blobFileName(key);
    await this.writes.run(key, async () => {
      try {
        await replaceFile(
          this.dir,
          name,
          (fh) => writeFully(fh, bytes, 0),
          () => this.folderSync.sync(),
          this.durable,
        );
      } catch (err) {
        await this.refreshKey(key); // the file may or may not be in place
        throw unavailable("write the blob", join(this.dir, name), err);
      }
      this.keyAdded(key); // renamed into place: no look at the folder needed
    });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    this.assertOpen();
    const path = this.pathOf(key);
    const small = this.readSmall(path, range);
    if (small !== "large") return small;
    const fh = await this.openForRead(path);
    if (!fh) return null;
    try {
      const { size } = await fh.stat();
      const { start, endExclusive } = clipRange(size, range);
      return await readFully(fh, start, endExclusive - start);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw unavailable("read the blob", path, err);
    } finally {
      await fh.close().catch(() => {}); // read-only: closing cannot lose data
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    this.assertOpen();
    const path = this.pathOf(key);
    const fh = await this.openForRead(path);
    if (!fh) return null;
    try {
      return { size: (await fh.stat()).size };
    } catch (err) {
      throw unavailable("read the blob", path, err);
    } finally {
      await fh.close().catch(() => {});
    }
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    const path = this.pathOf(key);
    await this.writes.run(key, async () => {
      // The key list is exact (only this process writes the folder, and every write, even a
      // failed one, brings it up to date), so a key it lacks has no file: no unlink, no look. The
      // local cache deletes its copy of every blob it puts before writing the new one (a new
      // APPEND's body has none): two trips through libuv's pool per APPEND saved.
      if (!this.listed(key)) return;
      try {
        await unlink(path);
      } catch (err) {
        if (fsErrorCode(err) === "ENOENT") return;
        throw unavailable("delete the blob", path, err);
      } finally {
        await this.refreshKey(key);
      }
      await this.folderSync.sync();
    });
  }

  async list(prefix: string, startAfter?: string, limit?: number): Promise<BlobListing> {
    this.assertOpen();
    return this.keys.list(prefix, startAfter, limit);
  }

  async copy(from: string, to: string): Promise<void> {
    this.assertOpen();
    const fromPath = this.pathOf(from);
    const name = blobFileName(to);
    await this.writes.run(to, async () => {
      const source = await this.openForRead(fromPath);
      if (!source) throw new NotFound(`blob ${from} does not exist`);
      try {
        await replaceFile(
          this.dir,
          name,
          async (target) => {
            for (let at = 0; ; at += copyChunkBytes) {
              const chunk = await readFully(source, at, copyChunkBytes);
              await writeFully(target, chunk, at);
              if (chunk.length < copyChunkBytes) return;
            }
          },
          () => this.folderSync.sync(),
          this.durable,
        );
      } catch (err) {
        throw unavailable(`copy the blob ${from} to`, join(this.dir, name), err);
      } finally {
        await source.close().catch(() => {}); // read-only: closing cannot lose data
        await this.refreshKey(to);
      }
    });
  }

  /** Waits for writes in flight; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writes.drain();
    await this.folder.close();
  }

  /** The bytes asked for when they are few (SYNC_READ_MAX), read synchronously; else "large". */
  private readSmall(path: string, range?: ByteRange): Uint8Array | null | "large" {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (err) {
      if (fsErrorCode(err) === "ENOENT") return null;
      throw unavailable("open the blob", path, err);
    }
    try {
      const { start, endExclusive } = clipRange(fstatSync(fd).size, range);
      const length = endExclusive - start;
      if (length > SYNC_READ_MAX) return "large";
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, start + done);
        if (n === 0) return out.subarray(0, done);
        done += n;
      }
      return out;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw unavailable("read the blob", path, err);
    } finally {
      try {
        closeSync(fd);
      } catch {
        // read-only: closing cannot lose data
      }
    }
  }

  private async openForRead(path: string): Promise<FileHandle | undefined> {
    try {
      return await open(path, "r");
    } catch (err) {
      if (fsErrorCode(err) === "ENOENT") return undefined;
      throw unavailable("open the blob", path, err);
    }
  }

  private listed(key: string): boolean {
    return this.keys.has(key);
  }

  /** Makes the in-memory key list agree with the folder after a write (even a failed one). */
  private keyAdded(key: string): void {
    this.keys.add(key);
  }

  private async refreshKey(key: string): Promise<void> {
    let exists = true;
    try {
      await (await open(this.pathOf(key), "r")).close();
    } catch (err) {
      exists = fsErrorCode(err) !== "ENOENT";
    }
    if (exists) this.keys.add(key);
    else this.keys.delete(key);
  }
}
