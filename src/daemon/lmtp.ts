/**
 * The LMTP listener of `start --lmtp-port N`: each delivery goes the way `deliver` goes, sealed to
 * the public key pinned in this home (checked against storage's key root each time, as `deliver`
 * does) and from this home's sender key, queued in storage, then the mover is told to look.
 */
import type { DeliveryKeyFiles } from "../config/deliveryKeyFiles.ts";
import type { Log } from "../log.ts";
import {
  deliveryPublicKey,
  enqueueDelivery,
  homeSender,
  MAX_DELIVERY_MESSAGE_BYTES,
  type IncomingMover,
} from "../mail/incoming/index.ts";
import { startLmtpServer, type LmtpServer } from "../server/lmtp/lmtpServer.ts";
import type { Store } from "../storage/types.ts";

export async function startLmtp(opts: {
  store: Store;
  deliveryKeys: DeliveryKeyFiles;
  mover: Pick<IncomingMover, "poke">;
  user: string;
  host: string;
  port: number;
  log: Log;
}): Promise<LmtpServer> {
  const sender = await homeSender(opts.deliveryKeys);
  return startLmtpServer({
    host: opts.host,
    port: opts.port,
    user: opts.user,
    maxBytes: MAX_DELIVERY_MESSAGE_BYTES,
    log: opts.log,
    deliver: async (delivery) => {
      const publicKey = await deliveryPublicKey(opts.store, opts.deliveryKeys);
      await enqueueDelivery(opts.store, delivery, publicKey, sender);
      opts.mover.poke();
    },
  });
}
