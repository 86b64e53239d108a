/**
 * Putting mail into the incoming queue without the password (`deliver`, LMTP): read the public key
 * from the key root, seal, store as `incoming/<ts>`, then touch the row `incoming`/`watch` so a
 * mover on another computer (polling that row) wakes at once. `<ts>` sorts by time (sync/timestamp),
 * so the mover files mail in arrival order.
 */
import { randomBytes } from "../../crypto/aead.ts";
import { parseKeyRoot } from "../../crypto/keyRoot.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { NotFound } from "../../errors.ts";
import type { Store } from "../../storage/types.ts";
import { newTimestamp } from "../../sync/index.ts";
import { INCOMING_PREFIX, sealDelivery, type Delivery } from "./deliveryBox.ts";

export const WATCH_PK = "incoming";
export const WATCH_SK = "watch";

/** The account's X25519 public key, kept in clear in `keys/root` for exactly this. */
export async function readPublicKey(store: Store): Promise<Uint8Array> {
  await loadSodium();
  const bytes = await store.blobs.get("keys/root");
  if (!bytes) throw new NotFound("this storage holds no account yet: run `aerogramme-local init`");
  return parseKeyRoot(bytes).publicKey;
}

/** A fresh incoming blob key: `incoming/<ts>`, later ones sort after. */
export function newIncomingKey(): string {
  return `${INCOMING_PREFIX}${newTimestamp()}`;
}

export function isIncomingKey(key: string): boolean {
  return /^incoming\/[0-9a-f]{28}$/.test(key);
}

/** Seals `delivery` for the account and stores it; durable when it resolves. Returns the blob key. */
export async function enqueueDelivery(
  store: Store,
  delivery: Delivery,
  publicKey?: Uint8Array,
): Promise<string> {
  const pk = publicKey ?? (await readPublicKey(store));
  const key = newIncomingKey();
  await storeSealedDelivery(store, key, sealDelivery(pk, key, delivery));
  return key;
}

/** Stores a delivery sealed elsewhere (by `deliver` beside a running server) and signals it. */
export async function storeSealedDelivery(store: Store, key: string, sealed: Uint8Array): Promise<void> {
  await store.blobs.put(key, sealed);
  await touchWatch(store);
}

async function touchWatch(store: Store): Promise<void> {
  // The value means nothing; a new one moves the row's causality token, which is what pollers see.
  const row = await store.rows.read(WATCH_PK, WATCH_SK);
  await store.rows.insert(WATCH_PK, WATCH_SK, randomBytes(8), row?.token);
}
