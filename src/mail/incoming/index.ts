/** The incoming queue: delivery without the password, and the mover that files it (DESIGN.md §4, §5). */
export {
  openDelivery,
  sealDelivery,
  INCOMING_PREFIX,
  MAX_DELIVERY_MESSAGE_BYTES,
  MAX_SEALED_DELIVERY_BYTES,
  type Delivery,
  type OpenedDelivery,
} from "./deliveryBox.ts";
export {
  adoptAccount,
  deliveryPublicKey,
  homeSender,
  notPinned,
  type HomeDeliveryKeys,
} from "./deliveryKeys.ts";
export { enqueueDelivery, isIncomingKey, newIncomingKey } from "./incomingQueue.ts";
export { IncomingMover, unlockDeliveryKeys, type MoverOptions } from "./incomingMover.ts";
export { UNVERIFIED_KEYWORD } from "./senderRegistry.ts";
