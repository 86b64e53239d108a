/**
 * Delivery from a known sender (issue 12): anyone may seal to the account's public key (it is in
 * clear), so an anonymous sealed box says nothing about who made it. A sender with its own X25519
 * keypair boxes the bytes with crypto_box (authenticated: only the holder of the sender's secret key
 * can make a box that opens with the sender's public key), and the sender's public key, the nonce
 * and that box are then sealed anonymously to the account, so the storage host does not even learn
 * which sender delivered.
 *
 * Layout: crypto_box_seal( sender public key (32) | nonce (24) | crypto_box_easy(bytes) )
 */
import { Tampered } from "../errors.ts";
import type { EpochKeys } from "./keyRoot.ts";
import {
  BOX_MAC_BYTES,
  BOX_NONCE_BYTES,
  boxEasy,
  boxKeypair,
  boxOpenEasy,
  boxSeal,
  boxSealOpen,
  memzero,
  publicKeyOf,
  randomBytes,
} from "./sodium.ts";

export interface SenderKeys {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

const PUBLIC_KEY_BYTES = 32;
const SEAL_BYTES = 32 + 16;

export function newSenderKeys(): SenderKeys {
  return boxKeypair();
}

/** The keypair of a stored sender secret key. */
export function senderKeysOf(secretKey: Uint8Array): SenderKeys {
  if (secretKey.length !== 32) throw new Tampered("a sender secret key is 32 bytes");
  return { publicKey: publicKeyOf(secretKey), secretKey: Uint8Array.from(secretKey) };
}

/** How many bytes sealFromSender adds to its input. */
export const FROM_SENDER_OVERHEAD = SEAL_BYTES + PUBLIC_KEY_BYTES + BOX_NONCE_BYTES + BOX_MAC_BYTES;

export function sealFromSender(recipient: Uint8Array, sender: SenderKeys, bytes: Uint8Array): Uint8Array {
  const nonce = randomBytes(BOX_NONCE_BYTES);
  const box = boxEasy(bytes, nonce, recipient, sender.secretKey);
  const inner = new Uint8Array(PUBLIC_KEY_BYTES + BOX_NONCE_BYTES + box.length);
  inner.set(sender.publicKey, 0);
  inner.set(nonce, PUBLIC_KEY_BYTES);
  inner.set(box, PUBLIC_KEY_BYTES + BOX_NONCE_BYTES);
  return boxSeal(inner, recipient);
}

/**
 * The bytes and the sender's public key they are authenticated by; Tampered when the outer seal
 * does not open (changed, or sealed to another account) or the inner box was not made by the
 * sender it names.
 */
export function openFromSender(
  keys: Pick<EpochKeys, "publicKey" | "secretKey">,
  sealed: Uint8Array,
): { bytes: Uint8Array; sender: Uint8Array } {
  const inner = boxSealOpen(sealed, keys.publicKey, keys.secretKey);
  if (!inner || inner.length < PUBLIC_KEY_BYTES + BOX_NONCE_BYTES + BOX_MAC_BYTES)
    throw new Tampered("a sender's delivery box failed to open: changed, or sealed to another account");
  const sender = inner.slice(0, PUBLIC_KEY_BYTES);
  const nonce = inner.subarray(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES + BOX_NONCE_BYTES);
  const bytes = boxOpenEasy(
    inner.subarray(PUBLIC_KEY_BYTES + BOX_NONCE_BYTES),
    nonce,
    sender,
    keys.secretKey,
  );
  memzero(inner);
  if (!bytes)
    throw new Tampered("a delivery box names a sender whose key did not make it: forged or changed");
  return { bytes, sender };
}
