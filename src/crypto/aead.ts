/**
 * Sealing of every object we store: XChaCha20-Poly1305 with associated data that names what the
 * object is and where it lives, so the host cannot swap one object for another (DESIGN.md §5).
 *
 * Layout: version (1 byte) | context tag (8 bytes) | nonce (24 bytes) | ciphertext+MAC.
 * The context tag is a keyed-free BLAKE2b of the associated data: it lets us tell "sealed for
 * another place" (WrongContext) apart from "bytes changed" (Tampered). It reveals nothing the key
 * name does not already reveal.
 */
import { Tampered, WrongContext } from "../errors.ts";
import {
  aeadDecrypt,
  aeadEncrypt,
  equalBytes,
  genericHash,
  memzero,
  randomBytes as random,
} from "./sodium.ts";

const VERSION = 1;
const TAG_BYTES = 8;
const NONCE_BYTES = 24;
export const AEAD_OVERHEAD = 1 + TAG_BYTES + NONCE_BYTES + 16;

/** What a sealed object is (purpose) and where it lives (path). */
export interface SealContext {
  purpose: string;
  path: string;
}

export function associatedData(ctx: SealContext): Uint8Array {
  return new TextEncoder().encode(`aerogramme-local/v${VERSION}\u0000${ctx.purpose}\u0000${ctx.path}`);
}

function contextTag(ad: Uint8Array): Uint8Array {
  return genericHash(TAG_BYTES, ad);
}

export function seal(key: Uint8Array, plaintext: Uint8Array, ctx: SealContext): Uint8Array {
  const ad = associatedData(ctx);
  const nonce = random(NONCE_BYTES);
  const ct = aeadEncrypt(plaintext, ad, nonce, key);
  const out = new Uint8Array(1 + TAG_BYTES + NONCE_BYTES + ct.length);
  out[0] = VERSION;
  out.set(contextTag(ad), 1);
  out.set(nonce, 1 + TAG_BYTES);
  out.set(ct, 1 + TAG_BYTES + NONCE_BYTES);
  return out;
}

export function open(key: Uint8Array, sealed: Uint8Array, ctx: SealContext): Uint8Array {
  const where = `${ctx.purpose} at ${ctx.path}`;
  if (sealed.length < AEAD_OVERHEAD || sealed[0] !== VERSION) {
    throw new Tampered(`${where}: not a sealed object of a known version (${sealed.length} bytes)`);
  }
  const ad = associatedData(ctx);
  if (!equalBytes(sealed.subarray(1, 1 + TAG_BYTES), contextTag(ad))) {
    throw new WrongContext(`${where}: the object was sealed for another place or purpose (moved or swapped)`);
  }
  const nonce = sealed.subarray(1 + TAG_BYTES, 1 + TAG_BYTES + NONCE_BYTES);
  try {
    return aeadDecrypt(sealed.subarray(1 + TAG_BYTES + NONCE_BYTES), ad, nonce, key);
  } catch {
    throw new Tampered(`${where}: authentication failed; the stored bytes were changed or the key is wrong`);
  }
}

export function randomKey(): Uint8Array {
  return random(32);
}

export function randomBytes(n: number): Uint8Array {
  return random(n);
}

/** Best-effort wipe of key material (JS strings and copies cannot be wiped; buffers can). */
export function wipe(bytes: Uint8Array | undefined): void {
  if (bytes) memzero(bytes);
}
