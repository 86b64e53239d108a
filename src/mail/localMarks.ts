/**
 * This computer's marks of what it saw in storage (DESIGN.md §6), so that a host that goes
 * backwards is refused, also after a restart: one mark per storage path (a mailbox's index, the
 * mailbox list, the record of filed deliveries), kept in one append-only journal per account
 * (markJournal.ts) under `<marksDir>/<account>/`, where `<account>` is the account's name (derived
 * from its first master key, carried across key epochs: two accounts in one home never share
 * marks, and a rekey keeps them). Each mark is sealed with the key ring "local-marks" (a subkey of
 * the master key, per key epoch) and bound to its path, and made durable (an append and one
 * fdatasync, shared by the marks saved meanwhile) before the state that depends on it is shown.
 * Folders are 0700, files 0600.
 *
 * Without a folder the marks live in memory: storage that goes back during one run is refused all
 * the same. A refusal is logged and leaves an alarm beside the marks (rollbackAlarms.ts).
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { open, seal, type SealContext, type SealKey } from "../crypto/aead.ts";
import { Unavailable } from "../errors.ts";
import type { Log } from "../log.ts";
import { fsErrorCode } from "../storage/embedded/fsFailure.ts";
import { JOURNAL_NAME, MarkJournal } from "./markJournal.ts";
import { clearAlarm, writeAlarm } from "./rollbackAlarms.ts";

/** Marks by storage path: JSON values, as the callers shape them. */
export interface MarkBook {
  load(path: string): Promise<unknown>;
  /** Resolves once the mark would survive a crash. */
  save(path: string, value: unknown): Promise<void>;
  remove(path: string): Promise<void>;
  /** Seals the mark of `path` again under the current key epoch (a rekey); nothing if there is none. */
  reseal(path: string): Promise<void>;
  /**
   * Logs a refusal of `path` and leaves a trace for `doctor`, until a later save of the path. Never
   * fails: the refusal stands whether or not its trace could be written.
   */
  alarm(path: string, message: string): Promise<void>;
}

export function openMarkBook(opts: {
  marksDir?: string;
  /** The ring of the purpose "local-marks". */
  key: SealKey;
  /** The account's name for local folders (keyRoot.ts UnlockedKeys.accountName). */
  accountName: string;
  log: Log;
}): MarkBook {
  return opts.marksDir
    ? new SealedMarkFolder(join(opts.marksDir, opts.accountName), opts.key, opts.log)
    : new MemoryMarkBook(opts.log);
}

function refusalLine(message: string, accept: string): string {
  return `${message}. The storage host served an older state than this computer saw (a dropped op, a hidden checkpoint, an older row or a restored copy of the bucket); clients get NO [CORRUPTION] and nothing is written over it. ${accept}`;
}

class MemoryMarkBook implements MarkBook {
  private readonly marks = new Map<string, string>();

  constructor(private readonly log: Log) {}

  async load(path: string): Promise<unknown> {
    const json = this.marks.get(path);
    return json === undefined ? undefined : JSON.parse(json);
  }

  async save(path: string, value: unknown): Promise<void> {
    this.marks.set(path, JSON.stringify(value));
  }

  async remove(path: string): Promise<void> {
    this.marks.delete(path);
  }

  async reseal(): Promise<void> {}

  async alarm(_path: string, message: string): Promise<void> {
    this.log("error", refusalLine(message, "A restart forgets what this run saw."));
  }
}

class SealedMarkFolder implements MarkBook {
  private made: Promise<void> | undefined;
  private journal: Promise<MarkJournal> | undefined;
  /** Paths whose alarm (from a refusal, maybe in an earlier run) is known to be gone. */
  private readonly clear = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly key: SealKey,
    private readonly log: Log,
  ) {}

  /** The path's id in the journal and the name of its alarm: half its SHA-256, in hex. */
  private fileName(path: string): string {
    return createHash("sha256").update(path).digest("hex").slice(0, 32);
  }

  private context(path: string): SealContext {
    return { purpose: "local-mark", path };
  }

  async load(path: string): Promise<unknown> {
    const sealed = (await this.opened()).get(this.fileName(path));
    if (!sealed) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(open(this.key, sealed, this.context(path))));
    } catch (err) {
      // Not the storage host's doing (it cannot reach this folder): a damaged disk, or a file
      // copied from elsewhere. Losing one mark weakens the check; refusing the mailbox forever
      // would lock its owner out.
      this.log(
        "warn",
        `the local mark of ${path} in ${join(this.dir, JOURNAL_NAME)} does not open (${err instanceof Error ? err.message : String(err)}); checking ${path} from what storage holds now on`,
      );
      return undefined;
    }
  }

  /**
   * Group commit: the marks saved (for any path of the account) while one batch is being
   * written go out together as the next batch, one append and one fdatasync (markJournal.ts); of
   * a path saved twice in one batch only the newer is written. A client filing messages one after
   * another then costs about one append per write time, not one per message.
   */
  async save(path: string, value: unknown): Promise<void> {
    const journal = await this.opened();
    const sealed = seal(this.key, new TextEncoder().encode(JSON.stringify(value)), this.context(path));
    const name = this.fileName(path);
    try {
      await journal.write(name, sealed);
      if (!this.clear.has(path)) {
        await clearAlarm(this.dir, name); // storage passed the check again
        this.clear.add(path);
      }
    } catch (err) {
      throw this.failure("write", join(this.dir, JOURNAL_NAME), err);
    }
  }

  async reseal(path: string): Promise<void> {
    const value = await this.load(path);
    if (value !== undefined) await this.save(path, value);
  }

  async remove(path: string): Promise<void> {
    const journal = await this.opened();
    const name = this.fileName(path);
    try {
      await journal.write(name, null);
      await clearAlarm(this.dir, name);
    } catch (err) {
      throw this.failure("write", join(this.dir, JOURNAL_NAME), err);
    }
  }

  async alarm(path: string, message: string): Promise<void> {
    this.clear.delete(path);
    // The trace first, then the line: whoever reads the line (a person, a test) finds the trace.
    try {
      await this.folder();
      await writeAlarm(this.dir, this.fileName(path), { path, at: new Date().toISOString(), message });
    } catch (err) {
      this.log("warn", `cannot leave the alarm for \`doctor\` in ${this.dir}: ${String(err)}`);
    }
    this.log(
      "error",
      refusalLine(message, `If you restored the storage on purpose, delete ${this.dir} to accept it.`),
    );
  }

  private folder(): Promise<void> {
    this.made ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (err: unknown) => {
        this.made = undefined;
        throw this.failure("create", this.dir, err);
      },
    );
    return this.made;
  }

  /** The account's journal, opened (and the folder made) at first use; tried again after a failure. */
  private opened(): Promise<MarkJournal> {
    this.journal ??= this.folder()
      .then(() => MarkJournal.shared(this.dir, this.log))
      .catch((err: unknown) => {
        this.journal = undefined;
        throw this.failure("open", join(this.dir, JOURNAL_NAME), err);
      });
    return this.journal;
  }

  private failure(action: string, file: string, err: unknown): Unavailable {
    if (err instanceof Unavailable) return err;
    const code = fsErrorCode(err);
    return new Unavailable(
      `cannot ${action} this computer's mark of what storage held, ${file}: ${err instanceof Error ? err.message : String(err)}${code ? ` (${code})` : ""}`,
      { cause: err },
    );
  }
}
