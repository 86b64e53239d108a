/**
 * Latency per command name, commands and logins per window (10 s by default), and the watchdog's
 * record of commands that waited longer than its limit.
 */

export interface Wait {
  client: number;
  command: string;
  ms: number;
  /** Seconds since the run started, when the wait began. */
  at: number;
}

export interface Window {
  /** Seconds since the run started, at the window's end. */
  end: number;
  commands: number;
  logins: number;
  rssBytes?: number;
}

export class LoadStats {
  readonly latencies = new Map<string, number[]>();
  readonly windows: Window[] = [];
  readonly waits: Wait[] = [];
  maxWaitMs = 0;
  private commands = 0;
  private logins = 0;
  readonly started = performance.now();

  record(name: string, ms: number): void {
    let list = this.latencies.get(name);
    if (!list) this.latencies.set(name, (list = []));
    list.push(ms);
    this.commands++;
    if (name === "LOGIN") this.logins++;
    if (ms > this.maxWaitMs) this.maxWaitMs = ms;
  }

  /** Closes the current window (called every window length by the runner). */
  closeWindow(rssBytes?: number): Window {
    const w: Window = {
      end: Math.round((performance.now() - this.started) / 1000),
      commands: this.commands,
      logins: this.logins,
      ...(rssBytes !== undefined ? { rssBytes } : {}),
    };
    this.windows.push(w);
    this.commands = 0;
    this.logins = 0;
    return w;
  }

  percentiles(): Record<string, { n: number; p50: number; p99: number; max: number }> {
    const out: Record<string, { n: number; p50: number; p99: number; max: number }> = {};
    const all: number[] = [];
    for (const [name, list] of [...this.latencies].sort()) {
      // One at a time: a spread of an hour's samples (over a million) overflows the call stack.
      for (const ms of list) all.push(ms);
      out[name] = summarize(list);
    }
    out.all = summarize(all);
    return out;
  }
}

function summarize(list: number[]): { n: number; p50: number; p99: number; max: number } {
  // A typed array sorts numbers without a call to a comparator per comparison: percentiles() of an
  // hour's 1.5 million latencies (test/bench/loadStats.test.ts) took 0.49 CPU s instead of 0.86.
  const sorted = Float64Array.from(list).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) };
}
