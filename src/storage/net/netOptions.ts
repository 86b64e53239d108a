/**
 * How a network backend talks to its host: per-call timeout, retries, concurrency. The defaults
 * suit a remote Garage over the internet; tests pass smaller numbers to fail fast.
 */
export interface NetOptions {
  /** One attempt of one call may take this long (ms) before it is abandoned. */
  timeoutMs: number;
  /** Extra time per MiB of request or response body, so large blobs are not cut off (ms). */
  timeoutPerMiBMs: number;
  /** Attempts for an idempotent call, the first one included. */
  attempts: number;
  /** Backoff before retry n is a random delay in [0, min(maxDelayMs, baseDelayMs * 2^n)]. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Calls in flight at once per store (a larger batch waits its turn). */
  concurrency: number;
  /**
   * The most calls in flight when the round trip is long: the S3 pool grows from `concurrency`
   * towards this with the measured round trip (roundTrip.ts).
   */
  maxConcurrency: number;
}

/** What opening a network backend (garage or s3) accepts besides its endpoints and credentials. */
export interface NetworkStoreOptions {
  net?: Partial<NetOptions>;
  /** Added to this computer's clock when signing (tests of clock-skew messages). */
  clockOffsetMs?: number;
}

export const defaultNetOptions: NetOptions = {
  timeoutMs: 15_000,
  timeoutPerMiBMs: 2_000,
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  concurrency: 16,
  maxConcurrency: 64,
};

export function netOptions(overrides: Partial<NetOptions> = {}): NetOptions {
  return { ...defaultNetOptions, ...overrides };
}

/** The timeout of one attempt that moves `bytes` of body. */
export function attemptTimeout(opts: NetOptions, bytes = 0): number {
  return opts.timeoutMs + Math.round((bytes / (1024 * 1024)) * opts.timeoutPerMiBMs);
}
