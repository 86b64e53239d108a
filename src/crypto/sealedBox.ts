/** Delivery without the password (DESIGN.md §5): a per-message key sealed to the account's public key. */
import { Tampered } from "../errors.ts";
import type { EpochKeys } from "./keyRoot.ts";
import { boxSeal, boxSealOpen } from "./sodium.ts";

export function sealToPublicKey(publicKey: Uint8Array, bytes: Uint8Array): Uint8Array {
  return boxSeal(bytes, publicKey);
}

export function openSealedBox(
  keys: Pick<EpochKeys, "publicKey" | "secretKey">,
  sealed: Uint8Array,
): Uint8Array {
  const opened = boxSealOpen(sealed, keys.publicKey, keys.secretKey);
  if (!opened)
    throw new Tampered("a sealed delivery box failed to open: changed, or sealed to another account");
  return opened;
}
