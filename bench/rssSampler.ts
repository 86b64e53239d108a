/**
 * Peak resident memory of a server and everything it forked (Dovecot runs a process per role and
 * per connection), sampled from /proc every `intervalMs`. The root's own VmHWM is read too: it is
 * the kernel's exact peak for that one process, where sampling can miss a short spike.
 */
import { readFileSync, readdirSync } from "node:fs";

function statusField(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // The process ended between listing and reading: it has no children left to count.
  }
  return out;
}

export function treeRss(root: number): number {
  let total = 0;
  const queue = [root];
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const pid = queue[i]!;
    total += statusField(pid, "VmRSS") ?? 0;
    queue.push(...children(pid));
  }
  return total;
}

export interface RssSample {
  /** Highest sampled sum of VmRSS over the process tree, bytes. */
  peakTreeRss: number;
  /** VmHWM of the root process, bytes (undefined once it exited). */
  rootHwm?: number;
}

export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample() {
    this.peak = Math.max(this.peak, treeRss(this.pid));
  }

  /** Samples now: the tree's RSS at this moment and the highest sampled so far, bytes. */
  now(): { after: number; peak: number } {
    const after = treeRss(this.pid);
    this.peak = Math.max(this.peak, after);
    return { after, peak: this.peak };
  }

  /** Takes a last sample and stops; call before the server is stopped. */
  stop(): RssSample {
    clearInterval(this.timer);
    this.sample();
    return { peakTreeRss: this.peak, rootHwm: statusField(this.pid, "VmHWM") };
  }
}
