/**
 * Putting mail into the incoming queue without the password (`deliver`, LMTP): seal to the public
 * key this home pinned (deliveryKeys.ts; never one read from storage), store as `incoming/<ts>`,
 * then touch the row `incoming`/`watch` so a mover on another computer (polling that row) wakes at
 * once. `<ts>` sorts by time (sync/timestamp), so the mover files mail in arrival order.
 */
import { randomBytes } from "../../crypto/aead.ts";
import type { SenderKeys } from "../../crypto/senderBox.ts";
import type { Store } from "../../storage/types.ts";
import { newTimestamp } from "../../sync/timestamp.ts";
import { INCOMING_PREFIX, sealDelivery, type Delivery } from "./deliveryBox.ts";

export const WATCH_PK = "incoming";
export const WATCH_SK = "watch";

/** A fresh incoming blob key: `incoming/<ts>`, later ones sort after. */
export function newIncomingKey(): string {
  return `${INCOMING_PREFIX}${newTimestamp()}`;
}

export function isIncomingKey(key: string): boolean {
  return /^incoming\/[0-9a-f]{28}$/.test(key);
}

/**
 * Seals `delivery` to `publicKey` (from `sender` when given) and stores it; durable when it
 * resolves. Returns the blob key.
 */
export async function enqueueDelivery(
  store: Store,
  delivery: Delivery,
  publicKey: Uint8Array,
  sender?: SenderKeys,
): Promise<string> {
  const key = newIncomingKey();
  await storeSealedDelivery(store, key, sealDelivery(publicKey, key, delivery, sender));
  return key;
}

/** Stores a sealed delivery and signals it. */
async function storeSealedDelivery(store: Store, key: string, sealed: Uint8Array): Promise<void> {
  await store.blobs.put(key, sealed);
  await touchWatch(store);
}

async function touchWatch(store: Store): Promise<void> {
  // The value means nothing; a new one moves the row's causality token, which is what pollers see.
  const row = await store.rows.read(WATCH_PK, WATCH_SK);
  await store.rows.insert(WATCH_PK, WATCH_SK, randomBytes(8), row?.token);
}
