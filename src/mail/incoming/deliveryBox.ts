/**
 * One delivered message at rest, before the account is unlocked (DESIGN.md §4, §5): blob
 * `incoming/<id>`, readable only with the account's X25519 secret key. A fresh message key seals the
 * payload as a padded chunked stream bound to the blob's path; that key is sealed to the public key
 * with crypto_box_seal. Delivery thus needs no password, and the host learns only a padded size.
 *
 * Layout: version (1) | crypto_box_seal(message key) (80) | sealStream(payload)
 * Payload: header length (4, big-endian) | JSON {mailbox, internalDate} | raw message
 * The mailbox name lives inside the sealed payload, never in the key name.
 */
import { randomKey, wipe, type SealContext } from "../../crypto/aead.ts";
import { openStream, sealStream } from "../../crypto/chunkedStream.ts";
import type { UnlockedKeys } from "../../crypto/keyRoot.ts";
import { openSealedBox, sealToPublicKey } from "../../crypto/sealedBox.ts";
import { Tampered } from "../../errors.ts";

const VERSION = 1;
/** crypto_box_seal adds an ephemeral public key (32) and a MAC (16) to the 32-byte key. */
const BOXED_KEY_BYTES = 32 + 32 + 16;

export interface Delivery {
  mailbox: string;
  /** Milliseconds since the epoch: the IMAP INTERNALDATE the message will get. */
  internalDate: number;
  raw: Uint8Array;
}

export const INCOMING_PREFIX = "incoming/";

const context = (blobKey: string): SealContext => ({ purpose: "incoming-delivery", path: blobKey });

export function sealDelivery(publicKey: Uint8Array, blobKey: string, delivery: Delivery): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ mailbox: delivery.mailbox, internalDate: delivery.internalDate }),
  );
  const payload = new Uint8Array(4 + header.length + delivery.raw.length);
  new DataView(payload.buffer).setUint32(0, header.length);
  payload.set(header, 4);
  payload.set(delivery.raw, 4 + header.length);
  const key = randomKey();
  try {
    const boxedKey = sealToPublicKey(publicKey, key);
    const body = sealStream(key, payload, context(blobKey));
    const out = new Uint8Array(1 + boxedKey.length + body.length);
    out[0] = VERSION;
    out.set(boxedKey, 1);
    out.set(body, 1 + boxedKey.length);
    return out;
  } finally {
    wipe(key);
    wipe(payload);
  }
}

/** The delivery sealed at `blobKey`; Tampered (or WrongContext, Truncated) when it is not intact. */
export function openDelivery(keys: UnlockedKeys, blobKey: string, sealed: Uint8Array): Delivery {
  if (sealed.length < 1 + BOXED_KEY_BYTES || sealed[0] !== VERSION)
    throw new Tampered(`${blobKey}: not a delivery box of a known version`);
  const key = openSealedBox(keys, sealed.subarray(1, 1 + BOXED_KEY_BYTES));
  let payload: Uint8Array;
  try {
    payload = openStream(key, sealed.subarray(1 + BOXED_KEY_BYTES), context(blobKey));
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
  };
}
