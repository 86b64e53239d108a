/**
 * Real peers (Garage, Dovecot, mbsync, gnome-keyring...) that some tests need. Without the peer a
 * test skips with a visible reason; under CI=true a missing peer is a failure, not a skip.
 * AGL_TEST_PEERS=off (`npm run test:fast`) skips every peer-backed test, present or not, CI or not.
 * scripts/run-tests.mjs lists which test files use which peer.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const inCI = process.env.CI === "true";
export const peersOff = process.env.AGL_TEST_PEERS === "off";

/** Absolute path of an executable on PATH or at one of the given places, or undefined. */
export function findExecutable(name: string, extraPlaces: string[] = []): string | undefined {
  for (const place of extraPlaces) if (existsSync(place)) return place;
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `skip` option for node:test: false when the peer is there; a reason string when it is absent
 * (and not in CI). In CI an absent peer throws, so the suite fails loudly.
 */
export function skipUnless(present: boolean, peer: string, howToGet: string): false | string {
  if (peersOff) return `needs ${peer}; peers are off (AGL_TEST_PEERS=off, npm run test:fast)`;
  if (present) return false;
  const reason = `needs ${peer}, not found on this machine (${howToGet})`;
  if (inCI) throw new Error(`CI=true and ${reason}`);
  return reason;
}
