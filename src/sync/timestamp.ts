/**
 * Op timestamps (DESIGN.md §4): 12 hex digits of milliseconds, big-endian, then 16 hex random digits.
 * String order is time order, and two writers never produce the same one.
 */
import { randomBytes } from "node:crypto";

export const TS_LENGTH = 28;
const TS_PATTERN = /^[0-9a-f]{28}$/;

export function isTimestamp(s: string): boolean {
  return TS_PATTERN.test(s);
}

export function timestampMs(ts: string): number {
  return parseInt(ts.slice(0, 12), 16);
}

/** A timestamp for the given time, at a floor (milliseconds) when one is given. */
export function timestampAt(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0") + "0".repeat(16);
}

/**
 * A new timestamp, later than `lastSeen` even if this computer's clock is behind. `random` gives its
 * low bits (crypto random by default; a seeded test passes its own, so a replay breaks ties alike).
 */
export function newTimestamp(
  lastSeen?: string,
  nowMs: number = Date.now(),
  random: (n: number) => Uint8Array = randomBytes,
): string {
  const ms = lastSeen ? Math.max(nowMs, timestampMs(lastSeen) + 1) : nowMs;
  return Math.floor(ms).toString(16).padStart(12, "0") + Buffer.from(random(8)).toString("hex");
}
