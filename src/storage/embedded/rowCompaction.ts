/**
 * Rewrites the row log with only the records some row still refers to, copied verbatim and in
 * their original order (so replaying the new file gives the same rows; see rowLogFormat.ts).
 *
 * Phase 1 copies the records the index refers to at the start, while writes go on, and syncs the
 * copy. Phase 2, with writes held back, appends every record written meanwhile, syncs that tail,
 * renames the new file over the log and moves the index's offsets, all before another write or read
 * can start. Reads never wait; writes wait for phase 2 only: a copy of what was written during
 * phase 1, one fdatasync of it and one of the folder.
 *
 * Rows that are a lone tombstone (`dropping`) are not copied: in phase 2 the store forgets those
 * no write has touched since, and the records of the rest are copied after the tail (issue 18: the
 * tombstones of expunged messages' meta and of retired op rows made the index and the log grow for
 * as long as the server ran).
 */
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { FILE_MODE, readFully, writeFully } from "./durableFs.ts";
import type { LogSegment } from "./logSegment.ts";
import type { RowIndex, ValueRef } from "./rowIndex.ts";
import { logMagic } from "./rowLogFormat.ts";

export const compactingName = "rows.log.compacting";
const runBytes = 4 << 20;

export interface CompactionInput {
  dir: string;
  /** The log as it is now. */
  segment: LogSegment;
  index: RowIndex;
  /** The log's end now, synchronously with the call. */
  snapshotEnd: number;
  logName: string;
  /** Holds writes back until `install` is called or compaction fails; resolves with the log's end. */
  pauseWrites: () => Promise<number>;
  /** Lone tombstones not to copy in phase 1. */
  dropping: ReadonlySet<ValueRef>;
  /** With writes held: forgets what it can of `dropping`, and returns the refs still referred to. */
  forget: () => ValueRef[];
  /** Called synchronously, right after the rename, with the new log. */
  install: (fh: FileHandle, size: number) => void;
}

export async function compactLog(input: CompactionInput): Promise<void> {
  const { dir, segment, index, snapshotEnd } = input;
  const snapshot = [...index.refs()].filter((r) => !input.dropping.has(r)).sort((a, b) => a.pos - b.pos);
  const tempPath = join(dir, compactingName);
  await rm(tempPath, { force: true });
  const out = await open(tempPath, "wx+", FILE_MODE);
  let installed = false;
  try {
    await writeFully(out, logMagic, 0);
    let size = logMagic.length;
    const moved = new Map<ValueRef, number>();
    // Phase 1: copy runs of adjacent records with one read each.
    for (let i = 0; i < snapshot.length;) {
      const runStart = snapshot[i]!.pos;
      let runEnd = runStart;
      const runFirst = i;
      while (i < snapshot.length && snapshot[i]!.pos === runEnd && runEnd - runStart < runBytes) {
        runEnd += snapshot[i]!.recordLength;
        i++;
      }
      const bytes = await segment.use((fh) => readFully(fh, runStart, runEnd - runStart));
      if (bytes.length !== runEnd - runStart) throw new Error("the row log is shorter than its index says");
      await writeFully(out, bytes, size);
      for (let j = runFirst; j < i; j++) moved.set(snapshot[j]!, size + (snapshot[j]!.pos - runStart));
      size += bytes.length;
    }
    // Made durable before writes are held: phase 2 then syncs only its own tail. Syncing the whole
    // copy there held every write for as long as the disk took to flush it (issue 18).
    await out.datasync();
    // Phase 2: records written since the snapshot, verbatim.
    const end = await input.pauseWrites();
    const shift = size - snapshotEnd;
    for (let at = snapshotEnd; at < end; at += runBytes) {
      const want = Math.min(runBytes, end - at);
      const bytes = await segment.use((fh) => readFully(fh, at, want));
      if (bytes.length !== want) throw new Error("the row log is shorter than its index says");
      await writeFully(out, bytes, size);
      size += bytes.length;
    }
    for (const ref of input.forget()) {
      const bytes = await segment.use((fh) => readFully(fh, ref.pos, ref.recordLength));
      if (bytes.length !== ref.recordLength) throw new Error("the row log is shorter than its index says");
      await writeFully(out, bytes, size);
      moved.set(ref, size);
      size += bytes.length;
    }
    const newPositions: [ValueRef, number][] = [];
    for (const ref of index.refs()) {
      const to = moved.get(ref) ?? (ref.pos >= snapshotEnd ? ref.pos + shift : undefined);
      if (to === undefined) throw new Error(`a record at offset ${ref.pos} was missed by compaction`);
      newPositions.push([ref, to]);
    }
    await out.datasync();
    await rename(tempPath, join(dir, input.logName));
    for (const [ref, to] of newPositions) ref.pos = to;
    installed = true;
    input.install(out, size);
  } finally {
    if (!installed) {
      // Best effort: the old log is still the live one, and a leftover temp file is removed at the
      // next open; the compaction's own error is what its caller sees.
      await out.close().catch(() => {});
      await rm(tempPath, { force: true }).catch(() => {});
    }
  }
}
