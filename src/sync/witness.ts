/**
 * What a computer remembers of a Bayou path between runs, so that storage that goes backwards is
 * refused instead of replayed (DESIGN.md §6): a high-water mark of what it has seen there. Bayou
 * checks every read against it (rollbackCheck.ts) and reports each new mark; where and how the
 * marks are kept is the witness's business (mail/ keeps them sealed on the local disk).
 */
import type { RolledBack } from "../errors.ts";

export interface SyncMark {
  /** The newest checkpoint seen (its key orders checkpoints: upTo, then generation). */
  checkpoint?: { key: string; upTo: string; gen: number; hash: string };
  /** The greatest ts seen, in an op row or as a checkpoint's upTo. */
  newestTs?: string;
  /** The op rows seen in storage that `checkpoint` did not fold, sorted. */
  unfolded: string[];
  /**
   * Rows were pushed from here whose watch rewrite may not have happened (Bayou rule 3): the next
   * run rewrites the watch, so other computers look again.
   */
  unpublished?: true;
  /**
   * Ids (the caller's: message ids) named by pushes that may have been cut short: written before
   * their row goes out, dropped once everything they name is stored (Bayou rule 3).
   */
  pending?: string[];
}

export interface SyncWitness {
  /** The mark last recorded for `path`, if any. */
  load(path: string): Promise<SyncMark | undefined>;
  /** Keeps `mark` for `path`; resolves once it would survive a crash. */
  record(path: string, mark: SyncMark): Promise<void>;
  /** Drops the mark of a path whose state was destroyed on purpose. */
  forget(path: string): Promise<void>;
  /**
   * Whether the state at `path` was destroyed on purpose (a deleted mailbox): its storage may then
   * vanish without a rollback. Asked only when a read went back.
   */
  retired(path: string): Promise<boolean>;
  /** Told when a read of `path` is refused, to log it and leave a trace for `doctor`. */
  refused(path: string, error: RolledBack): Promise<void>;
}
