/**
 * One delivered message at rest, before the account is unlocked (DESIGN.md §4, §5): blob
 * `incoming/<id>`, readable only with the account's X25519 secret key. A fresh message key seals the
 * payload as a padded chunked stream bound to the blob's path; that key is sealed to the public key.
 * Delivery thus needs no password, and the host learns only a padded size.
 *
 * Layout, version 2 (from a sender, crypto/senderBox.ts):
 *   2 | sealFromSender(message key) (152) | sealStream(payload)
 * Layout, version 1 (anonymous; still read, and still what a sender without a key produces):
 *   1 | crypto_box_seal(message key) (80) | sealStream(payload)
 * Payload: header length (4, big-endian) | JSON {mailbox, internalDate} | raw message
 * The mailbox name lives inside the sealed payload, never in the key name. The sender's public key
 * (version 2) is inside the seal too; whether it is one the account registered is the mover's call.
 */
import { randomKey, wipe, type SealContext } from "../../crypto/aead.ts";
import { openStream, sealStream } from "../../crypto/chunkedStream.ts";
import type { UnlockedKeys } from "../../crypto/keyRoot.ts";
import { openSealedBox, sealToPublicKey } from "../../crypto/sealedBox.ts";
import {
  FROM_SENDER_OVERHEAD,
  openFromSender,
  sealFromSender,
  type SenderKeys,
} from "../../crypto/senderBox.ts";
import { Invalid, Tampered, TooBig } from "../../errors.ts";

const ANONYMOUS = 1;
const FROM_SENDER = 2;
/** crypto_box_seal adds an ephemeral public key (32) and a MAC (16) to the 32-byte key. */
const ANONYMOUS_KEY_BYTES = 32 + 32 + 16;
const SENDER_KEY_BYTES = 32 + FROM_SENDER_OVERHEAD;

/** The largest message a delivery holds (`deliver` refuses more at its input). */
export const MAX_DELIVERY_MESSAGE_BYTES = 64 * 1024 * 1024;
const MAX_MAILBOX_NAME_BYTES = 1024;
/**
 * The largest delivery blob the mover reads: the message and its header, padded to 64 KiB
 * (chunkedStream), 16 bytes of MAC per 64 KiB chunk and the headers stay well under 1 MiB more.
 */
export const MAX_SEALED_DELIVERY_BYTES = MAX_DELIVERY_MESSAGE_BYTES + 1024 * 1024;

export interface Delivery {
  mailbox: string;
  /** Milliseconds since the epoch: the IMAP INTERNALDATE the message will get. */
  internalDate: number;
  raw: Uint8Array;
}

/** A delivery as opened: `sender` is the public key that authenticated it (undefined: anonymous). */
export interface OpenedDelivery extends Delivery {
  sender: Uint8Array | undefined;
}

export const INCOMING_PREFIX = "incoming/";

const context = (blobKey: string): SealContext => ({ purpose: "incoming-delivery", path: blobKey });

/** Sealed to `publicKey`; from `sender` when given (version 2), anonymous otherwise (version 1). */
export function sealDelivery(
  publicKey: Uint8Array,
  blobKey: string,
  delivery: Delivery,
  sender?: SenderKeys,
): Uint8Array {
  if (delivery.raw.length > MAX_DELIVERY_MESSAGE_BYTES)
    throw new TooBig(`the message is over ${MAX_DELIVERY_MESSAGE_BYTES / 2 ** 20} MiB`);
  if (Buffer.byteLength(delivery.mailbox) > MAX_MAILBOX_NAME_BYTES)
    throw new Invalid(`the mailbox name is over ${MAX_MAILBOX_NAME_BYTES} bytes`);
  const header = new TextEncoder().encode(
    JSON.stringify({ mailbox: delivery.mailbox, internalDate: delivery.internalDate }),
  );
  const payload = new Uint8Array(4 + header.length + delivery.raw.length);
  new DataView(payload.buffer).setUint32(0, header.length);
  payload.set(header, 4);
  payload.set(delivery.raw, 4 + header.length);
  const key = randomKey();
  try {
    const boxedKey = sender ? sealFromSender(publicKey, sender, key) : sealToPublicKey(publicKey, key);
    const body = sealStream(key, payload, context(blobKey));
    const out = new Uint8Array(1 + boxedKey.length + body.length);
    out[0] = sender ? FROM_SENDER : ANONYMOUS;
    out.set(boxedKey, 1);
    out.set(body, 1 + boxedKey.length);
    return out;
  } finally {
    wipe(key);
    wipe(payload);
  }
}

/** The delivery sealed at `blobKey`; Tampered (or WrongContext, Truncated) when it is not intact. */
export function openDelivery(keys: UnlockedKeys, blobKey: string, sealed: Uint8Array): OpenedDelivery {
  const boxedKeyBytes =
    sealed[0] === FROM_SENDER ? SENDER_KEY_BYTES : sealed[0] === ANONYMOUS ? ANONYMOUS_KEY_BYTES : 0;
  if (boxedKeyBytes === 0 || sealed.length < 1 + boxedKeyBytes)
    throw new Tampered(`${blobKey}: not a delivery box of a known version`);
  const boxedKey = sealed.subarray(1, 1 + boxedKeyBytes);
  let key: Uint8Array | undefined;
  let sender: Uint8Array | undefined;
  // A box does not say which public key it was sealed to: a delivery queued before a rekey opens
  // with the previous epoch's key, which the key root carries until the rekey is done.
  const candidates = [keys, ...keys.previous];
  for (const [i, pair] of candidates.entries()) {
    try {
      if (sealed[0] === FROM_SENDER) ({ bytes: key, sender } = openFromSender(pair, boxedKey));
      else key = openSealedBox(pair, boxedKey);
      break;
    } catch (err) {
      if (i === candidates.length - 1 || !(err instanceof Tampered) || !/failed to open/.test(err.message))
        throw err;
    }
  }
  if (!key) throw new Tampered(`${blobKey}: the delivery box does not open`);
  if (key.length !== 32) throw new Tampered(`${blobKey}: the delivery's message key has the wrong length`);
  let payload: Uint8Array;
  try {
    payload = openStream(key, sealed.subarray(1 + boxedKeyBytes), context(blobKey));
  } finally {
    wipe(key);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const headerLength = payload.length >= 4 ? view.getUint32(0) : Number.MAX_SAFE_INTEGER;
  if (4 + headerLength > payload.length) throw new Tampered(`${blobKey}: the delivery header is cut`);
  let header: { mailbox?: unknown; internalDate?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + headerLength))) as typeof header;
  } catch {
    throw new Tampered(`${blobKey}: the delivery header is not readable`);
  }
  if (typeof header.mailbox !== "string" || typeof header.internalDate !== "number")
    throw new Tampered(`${blobKey}: the delivery header has an unknown shape`);
  return {
    mailbox: header.mailbox,
    internalDate: header.internalDate,
    raw: payload.subarray(4 + headerLength),
    sender,
  };
}
