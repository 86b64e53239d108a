/**
 * One attempt of a network call under a deadline. The call gets an AbortSignal; when the deadline
 * passes the call is aborted and the attempt fails with AttemptTimedOut (whatever error the aborted
 * call itself reports), so that the retry logic and the messages see a timeout as a timeout.
 *
 * `extend(ms)` moves the deadline to `ms` from now: a download whose size is known only from its
 * headers gets the time its size needs.
 */
import { AttemptTimedOut } from "./networkFailure.ts";

export async function timed<T>(
  ms: number,
  call: (signal: AbortSignal, extend: (ms: number) => void) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  let limit = ms;
  const expire = () => {
    timedOut = true;
    controller.abort(new AttemptTimedOut(limit));
  };
  let timer = setTimeout(expire, ms);
  const extend = (next: number) => {
    if (timedOut) return;
    clearTimeout(timer);
    limit = next;
    timer = setTimeout(expire, next);
  };
  try {
    return await call(controller.signal, extend);
  } catch (err) {
    if (timedOut) throw new AttemptTimedOut(limit);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
