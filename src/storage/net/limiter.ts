/**
 * A small pool that bounds how many calls a store has in flight, so that a large batch or a burst
 * of FETCHes queues here instead of opening hundreds of sockets to the host. Its size may change
 * while calls run (the read pool follows the round trip: roundTrip.ts).
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private max: number) {}

  /** The calls allowed in flight now. */
  get size(): number {
    return this.max;
  }

  /** The calls in flight now. */
  get inFlight(): number {
    return this.active;
  }

  /** Grows or shrinks the pool; a shrink takes effect as calls end (none is cut off). */
  resize(max: number): void {
    this.max = Math.max(1, max);
    while (this.active < this.max && this.waiting.length > 0) {
      this.active++;
      this.waiting.shift()!();
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `active` never overshoots `max`; after a
      // shrink, slots above it are given back instead.
      const next = this.active <= this.max ? this.waiting.shift() : undefined;
      if (next) next();
      else this.active--;
    }
  }
}
