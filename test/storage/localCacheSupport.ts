/**
 * Helpers for the local cache tests: a store that counts the calls reaching it, and one whose every
 * call fails (a broken cache disk).
 */
import { Unavailable } from "../../src/errors.ts";
import type { BlobStore, RowStore, Store } from "../../src/storage/types.ts";

export interface CountingStore extends Store {
  /** Calls per "blobs.get", "rows.readBatch"...; reset() zeroes them. */
  calls: Map<string, number>;
  total(): number;
  reset(): void;
}

function wrap<T extends object>(target: T, name: string, before: (method: string) => void): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        before(`${name}.${String(prop)}`);
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
}

export function counting(store: Store): CountingStore {
  const calls = new Map<string, number>();
  const count = (method: string) => calls.set(method, (calls.get(method) ?? 0) + 1);
  return {
    blobs: wrap<BlobStore>(store.blobs, "blobs", count),
    rows: wrap<RowStore>(store.rows, "rows", count),
    close: () => store.close(),
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => calls.clear(),
  };
}

/** Every call rejects, as a cache on a failed disk would. */
export function failingStore(): Store & { calls: number } {
  const state = { calls: 0 };
  const fail = (): never => {
    state.calls++;
    throw new Unavailable("the cache disk is gone");
  };
  const handler: ProxyHandler<object> = {
    get: (_obj, prop) => (prop === "then" ? undefined : async () => fail()),
  };
  return {
    blobs: new Proxy({}, handler) as BlobStore,
    rows: new Proxy({}, handler) as RowStore,
    close: async () => {},
    get calls() {
      return state.calls;
    },
  };
}
