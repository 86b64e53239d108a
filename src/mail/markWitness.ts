/**
 * The witness Bayou checks each mailbox index against (sync/witness.ts): marks kept in the
 * account's mark book (localMarks.ts), and the mailbox list to tell a deleted mailbox, whose
 * storage vanishes on purpose, from one the host rolled back.
 */
import type { RolledBack } from "../errors.ts";
import type { SyncMark, SyncWitness } from "../sync/index.ts";
import type { MarkBook } from "./localMarks.ts";

export class MarkWitness implements SyncWitness {
  constructor(
    private readonly book: MarkBook,
    /** Whether the state at this path was destroyed on purpose (its mailbox is no longer listed). */
    private readonly isRetired: (path: string) => Promise<boolean>,
  ) {}

  async load(path: string): Promise<SyncMark | undefined> {
    const value = (await this.book.load(path)) as Partial<SyncMark> | undefined;
    if (!value || !Array.isArray(value.unfolded)) return undefined;
    return value as SyncMark;
  }

  record(path: string, mark: SyncMark): Promise<void> {
    return this.book.save(path, mark);
  }

  forget(path: string): Promise<void> {
    return this.book.remove(path);
  }

  retired(path: string): Promise<boolean> {
    return this.isRetired(path);
  }

  refused(path: string, error: RolledBack): Promise<void> {
    return this.book.alarm(path, error.message);
  }
}
