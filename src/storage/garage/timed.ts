/**
 * One attempt of a network call under a deadline. The call gets an AbortSignal; when the deadline
 * passes the call is aborted and the attempt fails with AttemptTimedOut (whatever error the aborted
 * call itself reports), so that the retry logic and the messages see a timeout as a timeout.
 */
import { AttemptTimedOut } from "./networkFailure.ts";

export async function timed<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new AttemptTimedOut(ms));
  }, ms);
  try {
    return await call(controller.signal);
  } catch (err) {
    if (timedOut) throw new AttemptTimedOut(ms);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
