/**
 * The backends the storage conformance suite runs against. Each entry makes a fresh, empty store
 * and says whether it can run here (a real peer may be missing).
 */
import type { Store } from "../../src/storage/types.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";

export interface BackendUnderTest {
  name: string;
  /** false to run; a reason string to skip (see test/support/peers.ts). */
  skip: () => false | string;
  /** A fresh, empty store. `reopen` re-opens the same underlying storage (a second process would). */
  open: () => Promise<{ store: Store; reopen?: () => Promise<Store>; cleanup: () => Promise<void> }>;
  /** How long a write may take to be visible to a poll on another handle (ms). */
  pollSlackMs: number;
}

export const backends: BackendUnderTest[] = [
  {
    name: "memory",
    skip: () => false,
    open: async () => ({ store: memoryStore(), cleanup: async () => {} }),
    pollSlackMs: 50,
  },
];
