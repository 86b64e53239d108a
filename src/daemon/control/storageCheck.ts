/**
 * Whether the store answers and holds an account: the `storage` part of a status, from the running
 * server (control request) or from `status` itself when no server runs.
 */
import type { Store } from "../../storage/types.ts";

export async function storageCheck(store: Store): Promise<{ reachable: boolean; detail: string }> {
  try {
    const head = await store.blobs.head("keys/root");
    return {
      reachable: true,
      detail: head ? "reachable, account present" : "reachable, but it holds no account",
    };
  } catch (err) {
    return { reachable: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
