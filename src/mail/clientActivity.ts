/**
 * Client work in flight (reads and writes of messages), so that background work (the cache fill)
 * can step aside: it waits for a lull before each step. A lull is no client work for QUIET_MS; a
 * client walking its message list sends its next command within a few milliseconds of an answer.
 */
const QUIET_MS = 50;

export class ClientActivity {
  private running = 0;
  private lastEnd = -Infinity;

  /** Counts `work` as client work until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.running++;
    return work.finally(() => {
      this.running--;
      this.lastEnd = performance.now();
    });
  }

  /** Whether client work ran in the last `quietMs`. */
  busy(quietMs = QUIET_MS): boolean {
    return this.running > 0 || performance.now() - this.lastEnd < quietMs;
  }

  /**
   * Resolves at the next lull, no client work for `quietMs` (at once when there was none), when
   * `signal` aborts, or when `enough()` says the caller must stop waiting (asked at each poll).
   */
  async lull(signal?: AbortSignal, quietMs = QUIET_MS, enough?: () => boolean): Promise<void> {
    while (this.busy(quietMs) && !signal?.aborted && !enough?.())
      await new Promise((resolve) => setTimeout(resolve, Math.min(quietMs, 100)));
  }
}
