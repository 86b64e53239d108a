/**
 * A small pool that bounds how many calls a store has in flight, so that a large batch or a burst
 * of FETCHes queues here instead of opening hundreds of sockets to the host.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never overshoots `max`.
      if (next) next();
      else this.active--;
    }
  }
}
