/**
 * Copies of what reads fetched from the remote, written to the cache only once the caller is quiet
 * (LocalCache.holdCopiesUntil), as copies of what is written through already are (cachedBlobs.ts).
 * A second computer's first open of a mailbox reads the bodies of its newest messages and their
 * meta rows while the client lists its headers; each copy was a file created, written and renamed
 * (or a row put) on the main thread and the thread pool, inside that list (bench/notes.md,
 * wt-coldquiet: ~75 ms of the main thread's samples in a 500 ms cold header list). Until it is
 * written, a held copy is served from memory: the cached stores keep a read's bytes for joiners
 * until its copy is written (their `fetching`), so a read meanwhile never goes to the remote.
 *
 * Bounded: past HELD_FILL_BYTES or HELD_FILLS, copies are written at once, as before; a copy held
 * for HELD_FILL_WAIT_MAX_MS is written whether or not the caller is quiet.
 */

/** Bytes of copies held for a quiet moment (the newest bodies' NEWEST_BYTES, and their meta rows). */
export const HELD_FILL_BYTES = 20 * 1024 * 1024;
/** Copies held at most (a batch of meta rows read ahead comes 200 at a time). */
export const HELD_FILLS = 1_000;
/** A copy held this long is written even while the caller is busy. */
export const HELD_FILL_WAIT_MAX_MS = 5_000;
/**
 * Copies handed to the writer at each lull: a few at once (the disk's queue stays short, so the
 * client's next command does not wait behind a burst), not one at a time (hundreds of them).
 */
const RELEASED_PER_LULL = 32;

interface Waiting {
  bytes: number;
  since: number;
  /** Starts the write; resolves when it is done, never rejects. */
  start: () => Promise<void>;
}

export class HeldFills {
  private quiet: (() => Promise<void>) | undefined;
  private readonly waiting: Waiting[] = [];
  private bytes = 0;
  private releasing: Promise<void> | undefined;

  /** From now on copies wait for `quiet` (resolves at the caller's next lull) before they are written. */
  holdUntil(quiet: () => Promise<void>): void {
    this.quiet = quiet;
  }

  /**
   * Runs `write` at the caller's next lull and resolves with its result, or returns undefined when
   * the copy is not held (no quiet to wait for, or the bounds are reached): the caller writes now.
   */
  hold(bytes: number, write: () => Promise<void>): Promise<void> | undefined {
    if (!this.quiet || this.waiting.length >= HELD_FILLS || this.bytes + bytes > HELD_FILL_BYTES)
      return undefined;
    let started!: (writing: Promise<void>) => void;
    const done = new Promise<void>((resolve) => (started = resolve));
    this.waiting.push({
      bytes,
      since: performance.now(),
      start: () => {
        const writing = write();
        started(writing);
        return writing.catch(() => undefined);
      },
    });
    this.bytes += bytes;
    this.releaseAtLulls();
    return done;
  }

  /** Starts every held write now (settle, close, a caller that needs the room). */
  release(): void {
    const all = this.waiting.splice(0);
    this.bytes = 0;
    for (const w of all) void w.start();
  }

  /** One waiter for all of them (a timer per held copy would poll through the whole burst). */
  private releaseAtLulls(): void {
    this.releasing ??= (async () => {
      try {
        while (this.waiting.length > 0) {
          await this.quietOrLate(this.waiting[0]!.since);
          const some = this.waiting.splice(0, RELEASED_PER_LULL);
          for (const w of some) this.bytes -= w.bytes;
          await Promise.all(some.map((w) => w.start()));
        }
      } finally {
        this.releasing = undefined;
      }
    })();
  }

  /** The caller's lull, or the oldest copy's HELD_FILL_WAIT_MAX_MS, whichever comes first. */
  private async quietOrLate(since: number): Promise<void> {
    const left = since + HELD_FILL_WAIT_MAX_MS - performance.now();
    if (left <= 0 || !this.quiet) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, left);
      timer.unref();
    });
    await Promise.race([this.quiet().catch(() => undefined), late]);
    clearTimeout(timer);
  }
}
