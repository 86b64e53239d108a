/**
 * The backends the storage conformance suite runs against. Each entry makes a fresh, empty store
 * and says whether it can run here (a real peer may be missing).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../../src/storage/types.ts";
import { MemoryBlobStore, memoryStore } from "../../src/storage/memoryStore.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import { ObjectRowStore, openS3Store } from "../../src/storage/s3/index.ts";
import { skipUnless } from "../support/peers.ts";
import { garageBinary, sharedGarage, type GaragePeer } from "../support/garage.ts";

/** Garage for the network backends: one daemon per backend, started at first use. */
const garageForK2v = sharedGarage({ bucket: "conformance" });
const garageWithoutK2v = sharedGarage({ bucket: "conformance", k2v: false });
const skipWithoutGarage = () =>
  skipUnless(Boolean(garageBinary()), "Garage", "bash scripts/install-garage.sh");

export interface BackendUnderTest {
  name: string;
  /** false to run; a reason string to skip (see test/support/peers.ts). */
  skip: () => false | string;
  /**
   * A new handle on a store (the conformance suite keeps every test in a key namespace of its own,
   * so a network backend may share one bucket between calls). Closing one handle must not disturb
   * another. `reopen` opens a second handle on the same storage, as a second process would.
   */
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
  {
    // No `reopen`: only one handle may hold the folder at a time (a second open gets Locked).
    name: "embedded",
    skip: () => false,
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), "agl-embedded-"));
      const store = await openEmbeddedStore(dir);
      return {
        store,
        cleanup: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    pollSlackMs: 100,
  },
  // Blobs on Garage's S3 API, rows on its K2V API.
  networkBackend("garage", garageForK2v, openGarageStore, 300),
  // Plain S3 (a Garage whose K2V API is off): rows emulated on objects, polls by listing.
  networkBackend("s3", garageWithoutK2v, openS3Store, 600),
  {
    // The s3 backend's row scheme over in-memory objects: its logic without a network.
    name: "object rows over memory",
    skip: () => false,
    open: async () => {
      const objects = new MemoryBlobStore();
      const open = () => {
        const rows = new ObjectRowStore(objects, { pollIntervalMs: 20 });
        return { blobs: objects, rows, close: () => rows.close() };
      };
      const store = open();
      return { store, reopen: async () => open(), cleanup: () => store.close() };
    },
    pollSlackMs: 100,
  },
];

/** A backend on a shared Garage: one daemon per kind for the whole file, a new handle per open. */
function networkBackend(
  name: string,
  garage: ReturnType<typeof sharedGarage>,
  openStore: (peer: GaragePeer, credentials: GaragePeer) => Store,
  pollSlackMs: number,
): BackendUnderTest {
  return {
    name,
    skip: skipWithoutGarage,
    open: async () => {
      const peer = await garage.acquire();
      const open = () => openStore(peer, peer);
      const store = open();
      return {
        store,
        reopen: async () => open(),
        cleanup: async () => {
          await store.close();
          await garage.release();
        },
      };
    },
    pollSlackMs,
  };
}
