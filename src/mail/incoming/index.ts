/** The incoming queue: delivery without the password, and the mover that files it (DESIGN.md §4, §5). */
export { openDelivery, sealDelivery, INCOMING_PREFIX, type Delivery } from "./deliveryBox.ts";
export {
  enqueueDelivery,
  isIncomingKey,
  newIncomingKey,
  readPublicKey,
  storeSealedDelivery,
} from "./incomingQueue.ts";
export { IncomingMover, unlockDeliveryKeys, type MoverOptions } from "./incomingMover.ts";
