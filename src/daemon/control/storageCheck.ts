/**
 * Whether the store answers and holds an account: the `storage` part of a status, from the running
 * server (control request) or from `status` itself when no server runs.
 */
import type { Store } from "../../storage/types.ts";

export async function storageCheck(
  store: Store,
): Promise<{ reachable: boolean; detail: string; roundTripMs?: number }> {
  try {
    // One small request: its time is the storage host's round trip as this computer sees it.
    const started = performance.now();
    const head = await store.blobs.head("keys/root");
    return {
      reachable: true,
      detail: head ? "reachable, account present" : "reachable, but it holds no account",
      roundTripMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    return { reachable: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
