/**
 * The round trip to a host as this process sees it, and how many calls to keep in flight for it.
 *
 * A pool of 16 calls holds a burst of reads (a FETCH of 200 bodies, 240 GETs) to 16 per round trip:
 * 0.6 s at 40 ms, 1.5 s at 100 ms, whatever the link could carry. So the pool follows the round
 * trip: enough calls in flight to start one every SLOT_MS, between the configured pool (a host on
 * this computer or nearby) and a ceiling (sockets and the host's load).
 *
 * The round trip is the smallest time to the response headers among the last WINDOW small calls:
 * a call's time also holds the host's work and our own queueing (event loop, a busy host), which
 * only ever add, so the smallest is the closest to the link's own delay; and it is not pushed up by
 * the pool's own load, which would feed back into a larger pool.
 */

/** Calls kept in flight per millisecond of round trip: one started every 2.5 ms (400/s). */
export const SLOT_MS = 2.5;
const WINDOW = 32;

export class RoundTrip {
  private readonly samples: number[] = [];
  private next = 0;

  /** Records one call's time to its response headers (ms). */
  record(ms: number): void {
    if (!(ms >= 0)) return;
    if (this.samples.length < WINDOW) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
  }

  /** The estimate (ms), or undefined before any call. */
  get ms(): number | undefined {
    return this.samples.length === 0 ? undefined : Math.min(...this.samples);
  }
}

/** Calls to keep in flight for a round trip of `ms`, within [base, max]. */
export function poolFor(ms: number | undefined, base: number, max: number): number {
  if (ms === undefined) return base;
  return Math.max(base, Math.min(Math.max(base, max), Math.ceil(ms / SLOT_MS)));
}
