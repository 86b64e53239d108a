/**
 * This computer's marks of what it saw in storage (DESIGN.md §6), so that a host that goes
 * backwards is refused, also after a restart: one small file per storage path (a mailbox's index,
 * the mailbox list) under `<marksDir>/<account>/`, where `<account>` is the account's name (derived
 * from its first master key, carried across key epochs: two accounts in one home never share
 * marks, and a rekey keeps them). Each file is sealed with the key ring "local-marks" (a subkey of
 * the master key, per key epoch) and bound to its path, and written durably (temp file, fsync, rename, fsync of the folder)
 * before the state that depends on it is shown. Folders are 0700, files 0600.
 *
 * Without a folder the marks live in memory: storage that goes back during one run is refused all
 * the same. A refusal is logged and leaves an alarm beside the marks (rollbackAlarms.ts).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { open, seal, type SealContext, type SealKey } from "../crypto/aead.ts";
import { Unavailable } from "../errors.ts";
import type { Log } from "../log.ts";
import { replaceFile, syncFolder, writeFully } from "../storage/embedded/durableFs.ts";
import { fsErrorCode } from "../storage/embedded/fsFailure.ts";
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

const MARK_SUFFIX = ".mark";

class SealedMarkFolder implements MarkBook {
  private made: Promise<void> | undefined;
  /** One write at a time per path, in call order, so the file ends with the latest mark. */
  private readonly writing = new Map<string, Promise<void>>();
  /** The save of each path that waits behind the running write, not started yet (save). */
  private readonly queued = new Map<string, { value: unknown; done: Promise<void> }>();
  /** Paths whose alarm (from a refusal, maybe in an earlier run) is known to be gone. */
  private readonly clear = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly key: SealKey,
    private readonly log: Log,
  ) {}

  private fileName(path: string): string {
    return createHash("sha256").update(path).digest("hex").slice(0, 32);
  }

  private context(path: string): SealContext {
    return { purpose: "local-mark", path };
  }

  async load(path: string): Promise<unknown> {
    const file = join(this.dir, this.fileName(path) + MARK_SUFFIX);
    let sealed: Uint8Array;
    try {
      sealed = await readFile(file);
    } catch (err) {
      if (fsErrorCode(err) === "ENOENT") return undefined;
      throw this.failure("read", file, err);
    }
    try {
      return JSON.parse(new TextDecoder().decode(open(this.key, sealed, this.context(path))));
    } catch (err) {
      // Not the storage host's doing (it cannot reach this folder): a damaged disk, or a file
      // copied from elsewhere. Losing one mark weakens the check; refusing the mailbox forever
      // would lock its owner out.
      this.log(
        "warn",
        `the local mark ${file} does not open (${err instanceof Error ? err.message : String(err)}); checking ${path} from what storage holds now on`,
      );
      return undefined;
    }
  }

  /**
   * Group commit: while a path's mark is being written, the saves that come meanwhile share the
   * one write queued behind it, which writes the newest of their values (each caller's value is
   * superseded by a later one, so the file ends with the latest mark all the same). A client
   * filing messages one after another then costs about one write, and its two fsyncs, per write
   * time, not one per message.
   */
  save(path: string, value: unknown): Promise<void> {
    const waiting = this.queued.get(path);
    if (waiting) {
      waiting.value = value;
      return waiting.done;
    }
    const slot: { value: unknown; done: Promise<void> } = { value, done: Promise.resolve() };
    this.queued.set(path, slot);
    slot.done = this.serially(path, () => {
      if (this.queued.get(path) === slot) this.queued.delete(path); // later saves queue anew
      const sealed = seal(this.key, new TextEncoder().encode(JSON.stringify(slot.value)), this.context(path));
      return this.write(path, sealed);
    });
    return slot.done;
  }

  async reseal(path: string): Promise<void> {
    const value = await this.load(path);
    if (value !== undefined) await this.save(path, value);
  }

  remove(path: string): Promise<void> {
    this.queued.delete(path); // a save after this one must not join a write that runs before it
    return this.serially(path, async () => {
      const name = this.fileName(path);
      await rm(join(this.dir, name + MARK_SUFFIX), { force: true });
      await clearAlarm(this.dir, name);
    });
  }

  async alarm(path: string, message: string): Promise<void> {
    this.log(
      "error",
      refusalLine(message, `If you restored the storage on purpose, delete ${this.dir} to accept it.`),
    );
    this.clear.delete(path);
    try {
      await this.folder();
      await writeAlarm(this.dir, this.fileName(path), { path, at: new Date().toISOString(), message });
    } catch (err) {
      this.log("warn", `cannot leave the alarm for \`doctor\` in ${this.dir}: ${String(err)}`);
    }
  }

  private serially(path: string, write: () => Promise<void>): Promise<void> {
    const previous = this.writing.get(path) ?? Promise.resolve();
    // The previous write's caller got its error; this one only waits its turn.
    const next = previous.catch(() => undefined).then(write);
    this.writing.set(path, next);
    const settle = () => {
      if (this.writing.get(path) === next) this.writing.delete(path);
    };
    next.then(settle, settle);
    return next;
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

  private async write(path: string, sealed: Uint8Array): Promise<void> {
    await this.folder();
    const name = this.fileName(path);
    try {
      await replaceFile(
        this.dir,
        name + MARK_SUFFIX,
        async (fh) => {
          await fh.chmod(0o600);
          await writeFully(fh, sealed, 0);
        },
        () => syncFolder(this.dir),
      );
      if (!this.clear.has(path)) {
        await clearAlarm(this.dir, name); // storage passed the check again
        this.clear.add(path);
      }
    } catch (err) {
      throw this.failure("write", join(this.dir, name + MARK_SUFFIX), err);
    }
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
