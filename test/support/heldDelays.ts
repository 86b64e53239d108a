/**
 * A `wait` for the login throttle (LoginThrottle.wait) that records each delay asked for and holds
 * it until the test releases it: the tests of the failure delays assert on order (an answer is
 * held while its delay is, the owner is served while the guessers' delays are held) instead of
 * sleeping through real delays and bounding wall time from above, which a loaded machine breaks.
 */
export interface HeldDelays {
  /** Pass as `throttle.wait`. */
  wait: (ms: number) => Promise<void>;
  /** Every delay asked for, in order. */
  readonly asked: number[];
  /** Resolves once `count` delays have been asked for in all; rejects after `timeoutMs`. */
  until: (count: number, timeoutMs?: number) => Promise<void>;
  /** Ends every delay held now. */
  release: () => void;
  /** Ends every delay held now and lets every later one end at once. */
  releaseAll: () => void;
}

export function heldDelays(): HeldDelays {
  const asked: number[] = [];
  let held: (() => void)[] = [];
  let open = false;
  const watchers = new Set<() => void>();
  const release = () => {
    const now = held;
    held = [];
    for (const end of now) end();
  };
  return {
    asked,
    wait: (ms) =>
      new Promise<void>((resolve) => {
        asked.push(ms);
        if (open) resolve();
        else held.push(resolve);
        for (const watch of watchers) watch();
      }),
    until: (count, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (asked.length < count) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${asked.length} delays asked for within ${timeoutMs} ms, not ${count}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      }),
    release,
    releaseAll: () => {
      open = true;
      release();
    },
  };
}

/** Resolves with "pending" when `promise` has not settled once the event loop has turned. */
export async function stateAfterATurn(promise: Promise<unknown>): Promise<"pending" | "settled"> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setImmediate(r));
  return settled ? "settled" : "pending";
}
