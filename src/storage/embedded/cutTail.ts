/**
 * What the scan at open cuts off the row log is normally the torn last batch of a crash, which no
 * caller was told had succeeded. A damaged sector in the middle of the log looks the same to the
 * scan, though, and cutting there would drop acknowledged rows without a trace. So the cut bytes
 * are first kept beside the log, durably, as `rows.log.cut-<ms>`, for `doctor` to report and for a
 * person to inspect. Nothing reads them back.
 */
import type { FileHandle } from "node:fs/promises";
import { readFully, replaceFile, syncFolder, writeFully } from "./durableFs.ts";

const chunkBytes = 4 << 20;

export interface CutTail {
  /** Where the valid records ended. */
  offset: number;
  bytes: number;
  /** The file in the data folder that holds the cut bytes. */
  savedAs: string;
}

/** Copies `log[from, to)` into a new file beside the log; returns its name. */
export async function saveCutTail(
  log: FileHandle,
  dir: string,
  logName: string,
  from: number,
  to: number,
): Promise<CutTail> {
  const savedAs = `${logName}.cut-${Date.now()}`;
  await replaceFile(
    dir,
    savedAs,
    async (out) => {
      for (let at = from; at < to; at += chunkBytes) {
        const bytes = await readFully(log, at, Math.min(chunkBytes, to - at));
        await writeFully(out, bytes, at - from);
        if (bytes.length < Math.min(chunkBytes, to - at)) return; // the log ends early: keep what is there
      }
    },
    () => syncFolder(dir),
  );
  return { offset: from, bytes: to - from, savedAs };
}
