/**
 * A store whose rows' and blobs' calls all go through `around` (a test that counts, orders or holds
 * storage calls): `call` makes the real call with the arguments given. Properties that are not
 * functions are passed through.
 */
import type { Store } from "../../src/storage/types.ts";

export type StoreLayer = "rows" | "blobs";

export function aroundStoreCalls(
  inner: Store,
  around: (
    layer: StoreLayer,
    prop: string,
    args: unknown[],
    call: () => Promise<unknown>,
  ) => Promise<unknown>,
): Store {
  const wrap = <T extends object>(layer: StoreLayer, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) =>
          around(layer, String(prop), args, () =>
            Promise.resolve((value as (...a: unknown[]) => unknown).apply(obj, args)),
          );
      },
    });
  return { ...inner, rows: wrap("rows", inner.rows), blobs: wrap("blobs", inner.blobs) };
}
