/**
 * An open row-log file shared by readers. Compaction swaps in a new file; the old one is closed only
 * once the reads that started on it (with its offsets) have finished.
 */
import type { FileHandle } from "node:fs/promises";

export class LogSegment {
  private readers = 0;
  private retired = false;
  private whenIdle: (() => void) | undefined;

  constructor(readonly fh: FileHandle) {}

  /** Runs `read` with this file kept open. Call synchronously with the offsets it will read. */
  async use<T>(read: (fh: FileHandle) => Promise<T>): Promise<T> {
    this.readers++;
    try {
      return await read(this.fh);
    } finally {
      if (--this.readers === 0 && this.whenIdle) this.whenIdle();
    }
  }

  /** Closes the file once its readers are done. */
  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    if (this.readers > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
    await this.fh.close().catch(() => {}); // a retired segment is only read; its data is in the new log
  }
}
