/**
 * The marks of one account (localMarks.ts) as one append-only file, `marks.journal`: a mark write
 * is an append and one fdatasync, not a temp file, fsync, rename and fsync of the folder. Marks
 * saved while one batch is being written go out together as the next batch (group commit, across
 * every path of the account). The file is read whole at open; when it passes COMPACT_MIN_BYTES and
 * holds COMPACT_RATIO times the bytes of the newest records, it is rewritten with those alone
 * (temp file, fsync, rename, fsync of the folder), between two batches.
 *
 * A record: u32 length of the rest after this header, u32 CRC-32 of that rest, then a kind byte
 * (1 a mark, 2 a removal), the path's 16-byte id (the first half of its SHA-256, as the one-file
 * marks of earlier builds were named) and the mark as the caller sealed it. The journal never
 * sees a path or a mark in clear. A crash can tear only the last record (appends, each batch
 * fdatasync'd before its callers are answered): the scan at open stops at the first record whose
 * length or CRC is wrong and cuts the file there, so that no later append follows garbage.
 *
 * Earlier builds kept one `<id>.mark` file per path. The open appends each of them as a record,
 * makes that durable, then deletes them (and makes that durable) before any write is taken, so a
 * crash in between leaves files whose content the journal already ends with.
 */
import { open, readdir, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "../storage/embedded/crc32.ts";
import {
  FILE_MODE,
  readFully,
  syncFolder,
  tempName,
  tempPrefix,
  writeFully,
} from "../storage/embedded/durableFs.ts";
import { fsErrorCode } from "../storage/embedded/fsFailure.ts";
import type { Log } from "../log.ts";

export const JOURNAL_NAME = "marks.journal";
export const LEGACY_MARK_SUFFIX = ".mark";
/** Compaction waits until the file is at least this big... */
export const COMPACT_MIN_BYTES = 1 << 20;
/** ...and this many times the bytes of the records it would keep. */
export const COMPACT_RATIO = 4;
/** No mark comes near this (a sealed mark is a few KiB); a bigger length is a torn header. */
const MAX_RECORD_BYTES = 16 << 20;
const HEADER_BYTES = 8;
const ID_BYTES = 16;
const KIND_MARK = 1;
const KIND_REMOVAL = 2;

/** A path's newest record: the sealed mark, or null when the path's mark was removed. */
type Entry = Uint8Array | null;

interface Waiting {
  id: string;
  body: Entry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The journals this process has open, by folder: two mark books on one folder (an account opened
 * again while the first is still in use) must share one, or a compaction by one would leave the
 * other appending to the replaced file.
 */
const openJournals = new Map<string, Promise<MarkJournal>>();

/**
 * Opens, ahead of an unlock, the journal of the one account whose marks `marksDir` holds. Its
 * folder is named from the account's keys, which Argon2id is still deriving; but a home holds one
 * account, and its journal's open (a read of the whole file, its scan, a look for legacy marks,
 * a sync of the folder: four trips through libuv's pool or more) then runs beside Argon2id, which
 * leaves the main thread idle, instead of on the first LIST's path after it. The account's mark
 * book gets the open journal from MarkJournal.shared. A folder without a journal, or more than one
 * folder, is left to that open, as is any error.
 */
export async function openJournalAhead(marksDir: string, log: Log): Promise<void> {
  try {
    const folders = (await readdir(marksDir)).filter((name) => /^[0-9a-f]+$/.test(name));
    if (folders.length !== 1) return;
    const dir = join(marksDir, folders[0]!);
    if (!(await stat(join(dir, JOURNAL_NAME))).isFile()) return;
    await MarkJournal.shared(dir, log);
  } catch {
    // the mark book's own open meets it again and says so
  }
}

export class MarkJournal {
  /**
   * The journal of `dir` this process has open, or a newly opened one when there is none or its
   * file is gone (the folder deleted to accept a restore, DESIGN.md §6).
   */
  static async shared(dir: string, log: Log): Promise<MarkJournal> {
    const known = openJournals.get(dir);
    if (known) {
      const journal = await known.catch(() => undefined);
      if (journal && (await journal.stillInPlace())) return journal;
      if (openJournals.get(dir) === known) openJournals.delete(dir);
      if (journal) await journal.close().catch(() => {});
    }
    let opening = openJournals.get(dir);
    if (!opening) {
      opening = MarkJournal.open(dir, log);
      openJournals.set(dir, opening);
      opening.catch(() => {
        if (openJournals.get(dir) === opening) openJournals.delete(dir);
      });
    }
    return opening;
  }

  private readonly queue: Waiting[] = [];
  /** The running flush loop, if any; cleared by the loop itself as it finds the queue empty. */
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Why appends stopped: a failed write could not be cut back, or a compaction not made durable. */
  private broken: unknown;

  private constructor(
    private readonly dir: string,
    private fh: FileHandle,
    private size: number,
    /** The newest record of each id (hex); what a compaction keeps. */
    private readonly latest: Map<string, Entry>,
    private readonly log: Log,
  ) {}

  /** Opens (or makes) the journal in `dir`, an existing folder; takes in the one-file marks. */
  static async open(dir: string, log: Log): Promise<MarkJournal> {
    const file = join(dir, JOURNAL_NAME);
    const fh = await open(file, "a+", FILE_MODE);
    try {
      const whole = await readFully(fh, 0, (await fh.stat()).size);
      const { latest, end } = scan(whole);
      if (end < whole.length) {
        log(
          "warn",
          `the local marks journal ${file} ends in ${whole.length - end} bytes that do not form a whole record (a write cut short by a crash, or a damaged disk); they are dropped`,
        );
        await fh.truncate(end);
        await fh.datasync();
      }
      const journal = new MarkJournal(dir, fh, end, latest, log);
      await journal.takeInLegacy();
      await syncFolder(dir); // the journal's own entry, when it was just made
      return journal;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /** The newest sealed mark of `id`; null when removed; undefined when it never had one. */
  get(id: string): Entry | undefined {
    return this.latest.get(id);
  }

  /** Appends a mark (or, with null, its removal); resolves once it would survive a crash. */
  write(id: string, body: Entry): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the marks journal is closed"));
    if (this.broken !== undefined) return Promise.reject(this.refusal());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, body, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.fh.close();
  }

  private refusal(): Error {
    const why = this.broken instanceof Error ? this.broken.message : "an unknown error";
    return new Error(
      `the marks journal in ${this.dir} is not safe to append to after a failed write (${why}); restart to open it again`,
    );
  }

  /** Whether the file this journal appends to is still the one at its name. */
  private async stillInPlace(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const [held, named] = await Promise.all([this.fh.stat(), stat(join(this.dir, JOURNAL_NAME))]);
      return held.ino === named.ino && held.dev === named.dev;
    } catch {
      return false;
    }
  }

  /** Bytes the file holds, and bytes a compaction would keep (for tests and measurements). */
  sizes(): { file: number; live: number } {
    return { file: this.size, live: this.liveBytes() };
  }

  private async flush(): Promise<void> {
    await Promise.resolve(); // let `flushing` be set before the loop can clear it
    for (;;) {
      if (this.queue.length === 0) {
        this.flushing = undefined; // in the same turn as the check: a later write starts a loop
        return;
      }
      const batch = this.queue.splice(0, this.queue.length);
      // Within one batch only the last record of an id matters; the others are not written.
      const last = new Map<string, Entry>();
      for (const w of batch) last.set(w.id, w.body);
      try {
        if (this.broken !== undefined) throw this.refusal();
        await this.append([...last].map(([id, body]) => frame(id, body)));
        for (const [id, body] of last) this.latest.set(id, body);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
        continue;
      }
      if (this.size >= COMPACT_MIN_BYTES && this.size >= COMPACT_RATIO * this.liveBytes()) {
        // A failure before the rename costs only space: the journal as it is stays whole and in
        // use. After it, `broken` stops appends (compact).
        await this.compact().catch((err: unknown) =>
          this.log("warn", `cannot compact the local marks journal in ${this.dir}: ${String(err)}`),
        );
      }
    }
  }

  private async append(frames: Uint8Array[]): Promise<void> {
    const bytes = Buffer.concat(frames);
    try {
      await writeFully(this.fh, bytes, this.size);
      await this.fh.datasync();
    } catch (err) {
      // A write cut short must not stay in front of the next one: back to the last whole record.
      // Should that fail too, later records would follow bytes the next open stops at, so no
      // later write is taken (each fails, as this one did) until the journal is opened again.
      await this.fh.truncate(this.size).catch((cut: unknown) => (this.broken = cut));
      throw err;
    }
    this.size += bytes.length;
  }

  private liveBytes(): number {
    let n = 0;
    for (const body of this.latest.values()) if (body) n += HEADER_BYTES + 1 + ID_BYTES + body.length;
    return n;
  }

  /** Rewrites the journal with the newest mark of each path: temp file, fsync, rename, folder fsync. */
  private async compact(): Promise<void> {
    const frames: Uint8Array[] = [];
    for (const [id, body] of this.latest) if (body) frames.push(frame(id, body));
    const bytes = Buffer.concat(frames);
    const temp = join(this.dir, tempName());
    const out = await open(temp, "wx+", FILE_MODE);
    try {
      await writeFully(out, bytes, 0);
      await out.sync();
      // The handle later appends go through is the new file's, held before the rename, so no
      // append can go to the replaced file, whose records no open would read.
      await rename(temp, join(this.dir, JOURNAL_NAME));
    } catch (err) {
      await out.close().catch(() => {});
      await rm(temp, { force: true }).catch(() => {});
      throw err;
    }
    const old = this.fh;
    this.fh = out;
    this.size = bytes.length;
    await old.close().catch(() => {}); // the replaced file: nothing more goes into it
    // Until the rename is durable a crash could bring the old file back, without what is appended
    // from now on: no append is taken unless it is.
    await syncFolder(this.dir).catch((err: unknown) => {
      this.broken = err;
      throw err;
    });
    for (const [id, body] of [...this.latest]) if (!body) this.latest.delete(id); // no file to mask any more
  }

  /** Appends each one-file mark of an earlier build, makes that durable, then deletes the files. */
  private async takeInLegacy(): Promise<void> {
    const names = await readdir(this.dir);
    const legacy: { id: string; name: string; body: Uint8Array }[] = [];
    for (const name of names) {
      if (name.startsWith(tempPrefix)) {
        await rm(join(this.dir, name), { force: true }).catch(() => {}); // a write cut short
        continue;
      }
      const id = name.endsWith(LEGACY_MARK_SUFFIX) ? name.slice(0, -LEGACY_MARK_SUFFIX.length) : "";
      if (!/^[0-9a-f]{32}$/.test(id)) continue;
      try {
        legacy.push({ id, name, body: new Uint8Array(await readFileBytes(join(this.dir, name))) });
      } catch (err) {
        if (fsErrorCode(err) !== "ENOENT") throw err;
      }
    }
    if (legacy.length === 0) return;
    await this.append(legacy.map((l) => frame(l.id, l.body)));
    for (const l of legacy) this.latest.set(l.id, l.body);
    for (const l of legacy) await unlink(join(this.dir, l.name)).catch(() => {});
    await syncFolder(this.dir);
  }
}

async function readFileBytes(path: string): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    return Buffer.from(await readFully(fh, 0, (await fh.stat()).size));
  } finally {
    await fh.close();
  }
}

function frame(id: string, body: Entry): Uint8Array {
  const rest = Buffer.alloc(1 + ID_BYTES + (body?.length ?? 0));
  rest[0] = body ? KIND_MARK : KIND_REMOVAL;
  rest.write(id, 1, ID_BYTES, "hex");
  if (body) rest.set(body, 1 + ID_BYTES);
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt32BE(rest.length, 0);
  head.writeUInt32BE(crc32(rest), 4);
  return Buffer.concat([head, rest]);
}

/** The newest record of each id, and where the whole records end. */
export function scan(bytes: Uint8Array): { latest: Map<string, Entry>; end: number } {
  const latest = new Map<string, Entry>();
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  while (at + HEADER_BYTES <= view.length) {
    const length = view.readUInt32BE(at);
    if (length < 1 + ID_BYTES || length > MAX_RECORD_BYTES || at + HEADER_BYTES + length > view.length) break;
    const rest = view.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
    if (crc32(rest) !== view.readUInt32BE(at + 4)) break;
    const kind = rest[0];
    if (kind !== KIND_MARK && kind !== KIND_REMOVAL) break;
    const id = rest.subarray(1, 1 + ID_BYTES).toString("hex");
    latest.set(id, kind === KIND_MARK ? new Uint8Array(rest.subarray(1 + ID_BYTES)) : null);
    at += HEADER_BYTES + length;
  }
  return { latest, end: at };
}
