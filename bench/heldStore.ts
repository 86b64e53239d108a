/**
 * A store whose calls are each held a round trip, `pool` in flight at most, for the in-process
 * measuring scripts (measureBodies.ts, measureHeaders.ts): a remote host's latency without a
 * network. Counts the calls and the sequential round trips (a call that starts when none is in
 * flight begins one). Polls and the methods named in `passThrough` are never held, nor anything
 * while `holding()` is false (the setup before the measured part).
 */
import type { Store } from "../src/storage/types.ts";

export interface HoldOptions {
  roundTripMs: number;
  pool: number;
  holding: () => boolean;
  passThrough?: readonly string[];
  /** Each held call, before it waits (layer "rows" or "blobs", the method, its arguments). */
  onCall?: (layer: string, method: string, args: unknown[]) => void;
  /** Each held call once answered. */
  onAnswer?: (layer: string, method: string, args: unknown[]) => void;
}

export interface HoldStats {
  calls: number;
  rounds: number;
}

export function holdStore(store: Store, options: HoldOptions): { store: Store; stats: HoldStats } {
  const stats: HoldStats = { calls: 0, rounds: 0 };
  const skip = new Set(["poll", ...(options.passThrough ?? [])]);
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (inFlight >= options.pool) await new Promise<void>((r) => waiting.push(r));
    if (inFlight++ === 0) stats.rounds++;
  };
  const release = () => {
    inFlight--;
    waiting.shift()?.();
  };
  const wrap = <T extends object>(layer: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== "function" || !options.holding() || skip.has(String(prop))) return value;
        const method = String(prop);
        return async (...args: unknown[]) => {
          stats.calls++;
          options.onCall?.(layer, method, args);
          await slot();
          try {
            await new Promise((r) => setTimeout(r, options.roundTripMs));
            const answer = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
            options.onAnswer?.(layer, method, args);
            return answer;
          } finally {
            release();
          }
        };
      },
    });
  return { store: { ...store, rows: wrap("rows", store.rows), blobs: wrap("blobs", store.blobs) }, stats };
}
