/**
 * Retries for idempotent calls: exponential backoff with full jitter (a random wait up to the
 * backoff), so that several clients that failed together do not retry together.
 */
import type { NetOptions } from "./netOptions.ts";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backoffDelay(opts: NetOptions, retry: number): number {
  return Math.random() * Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** retry);
}

/**
 * Runs `call` until it succeeds, fails with an error `retryable` refuses, or `opts.attempts` are
 * spent (then the last error is thrown). `stopped` ends the retries early (a closed store).
 */
export async function withRetry<T>(
  opts: NetOptions,
  call: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  stopped: () => boolean = () => false,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= opts.attempts || !retryable(err) || stopped()) throw err;
      await sleep(backoffDelay(opts, attempt - 1));
    }
  }
}
