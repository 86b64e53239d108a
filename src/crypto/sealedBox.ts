/** Delivery without the password (DESIGN.md §5): a per-message key sealed to the account's public key. */
import { Tampered } from "../errors.ts";
import type { UnlockedKeys } from "./keyRoot.ts";
import { sodium } from "./sodium.ts";

export function sealToPublicKey(publicKey: Uint8Array, bytes: Uint8Array): Uint8Array {
  return sodium().crypto_box_seal(bytes, publicKey);
}

export function openSealedBox(keys: UnlockedKeys, sealed: Uint8Array): Uint8Array {
  try {
    return sodium().crypto_box_seal_open(sealed, keys.publicKey, keys.secretKey);
  } catch {
    throw new Tampered("a sealed delivery box failed to open: changed, or sealed to another account");
  }
}
