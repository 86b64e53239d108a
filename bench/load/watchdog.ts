/**
 * Looks at every client's command in flight every 100 ms and reports one that has waited longer
 * than the limit (once per command, as it crosses), and when every client is waiting at once.
 */
import type { InFlight } from "./client.ts";
import type { LoadStats } from "./stats.ts";

export class Watchdog {
  private readonly timer: NodeJS.Timeout;
  private readonly reported = new Set<InFlight>();
  private allStuckSince: number | undefined;

  constructor(
    private readonly clients: { id: number; inFlight: InFlight | undefined }[],
    private readonly limitMs: number,
    private readonly stats: LoadStats,
    private readonly log: (line: string) => void,
    /** Whether the server is being killed and started again (the soak): nothing is reported then. */
    private readonly restarting: () => boolean = () => false,
  ) {
    this.timer = setInterval(() => this.look(), 100);
    this.timer.unref();
  }

  private look(): void {
    const now = performance.now();
    if (this.restarting()) {
      // Commands cut off by the kill fail; those sent meanwhile wait for the new process.
      for (const c of this.clients) if (c.inFlight) this.reported.add(c.inFlight);
      return;
    }
    let stuck = 0;
    for (const c of this.clients) {
      const f = c.inFlight;
      if (!f || now - f.since < this.limitMs) continue;
      stuck++;
      if (this.reported.has(f)) continue;
      this.reported.add(f);
      const at = (f.since - this.stats.started) / 1000;
      this.log(
        `  watchdog: client ${c.id} waiting over ${this.limitMs} ms in ${f.text} (since ${at.toFixed(1)} s)`,
      );
      // The wait's full length is known when it ends: follow it.
      const follow = setInterval(() => {
        if (c.inFlight === f) return;
        clearInterval(follow);
        this.reported.delete(f);
        this.stats.waits.push({ client: c.id, command: f.text, ms: performance.now() - f.since, at });
      }, 50);
    }
    if (stuck === this.clients.length && this.clients.length > 1) {
      if (this.allStuckSince === undefined) {
        this.allStuckSince = now;
        this.log(`  watchdog: all ${stuck} clients waiting over ${this.limitMs} ms`);
      }
    } else if (this.allStuckSince !== undefined) {
      this.log(
        `  watchdog: clients answered again after ${((now - this.allStuckSince) / 1000).toFixed(1)} s of all waiting`,
      );
      this.allStuckSince = undefined;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
