/**
 * Timers on a test's own clock (Bayou's `schedule` option): a timer fires only when the test calls
 * `fireDue` after moving its clock past the timer's deadline, never on real time. A test that
 * injects `clock` and `elapsed` but leaves Bayou's publisher on setTimeout depends on how fast the
 * machine runs it: under load a watch rewrite lands steps earlier than on an idle machine.
 */
import type { Schedule } from "../../src/sync/index.ts";

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export class SteppedSchedule {
  private timers: Timer[] = [];
  private seq = 0;

  /** `now`: the clock the deadlines are on (every computer's `elapsed` is it plus a constant). */
  constructor(private readonly now: () => number) {}

  readonly schedule: Schedule = (ms, fire) => {
    const timer: Timer = { at: this.now() + Math.max(0, ms), seq: this.seq++, fire };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  /** Timers waiting. */
  get waiting(): number {
    return this.timers.length;
  }

  /** Fires every timer due by now, earliest deadline first (then in the order they were set). */
  fireDue(): number {
    const now = this.now();
    const due = this.timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((t) => t.at > now);
    for (const t of due) t.fire();
    return due.length;
  }
}
