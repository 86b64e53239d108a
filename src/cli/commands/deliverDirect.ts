/**
 * `deliver` with no server running: the store is opened here, and the message sealed to the pinned
 * key (once storage's key root names it too) from this home's sender key, and queued. The mover of
 * the next `start` files it.
 */
import { DeliveryKeyFiles } from "../../config/deliveryKeyFiles.ts";
import type { HomePaths } from "../../config/homePaths.ts";
import type { Settings } from "../../config/settingsSchema.ts";
import { openHomeStore } from "../../daemon/homeStore.ts";
import type { DeliverResult } from "../../daemon/control/protocol.ts";
import { deliveryPublicKey, homeSender } from "../../mail/incoming/deliveryKeys.ts";
import { enqueueDelivery } from "../../mail/incoming/incomingQueue.ts";
import type { IncomingMessage } from "./deliver.ts";

export async function deliverDirectly(
  paths: HomePaths,
  settings: Settings,
  message: IncomingMessage,
): Promise<DeliverResult> {
  const deliveryKeys = new DeliveryKeyFiles(paths);
  const sender = await homeSender(deliveryKeys);
  const store = await openHomeStore(paths, settings);
  try {
    const publicKey = await deliveryPublicKey(store, deliveryKeys);
    const queued = await enqueueDelivery(store, message, publicKey, sender);
    return { queued, filed: false, moverRunning: false };
  } finally {
    await store.close();
  }
}
