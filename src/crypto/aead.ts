/**
 * Sealing of every object we store: XChaCha20-Poly1305 with associated data that names what the
 * object is and where it lives, so the host cannot swap one object for another (DESIGN.md §5).
 *
 * Layout: version (1 byte) | context tag (8 bytes) | nonce (24 bytes) | ciphertext+MAC.
 * The context tag is a keyed-free BLAKE2b of the associated data: it lets us tell "sealed for
 * another place" (WrongContext) apart from "bytes changed" (Tampered). It reveals nothing the key
 * name does not already reveal.
 *
 * Version 2 (written by default) pads the plaintext to a size bucket inside the ciphertext
 * (padding.ts), so the host sees OVERHEAD + a bucket, never the exact size; its version byte is
 * also in the associated data, so changing it fails to open. Version 1 (no padding) is still
 * read, and written only for objects whose size is fixed and says nothing (the key root's
 * entries: `exact`).
 */
import { Tampered, WrongContext } from "../errors.ts";
import { padToBucket, unpad } from "./padding.ts";
import {
  aeadDecrypt,
  aeadEncrypt,
  equalBytes,
  genericHash,
  memzero,
  randomBytes as random,
} from "./sodium.ts";

/** Sealed without padding: still read; written only with `exact`. */
const EXACT = 1;
/** Sealed with the plaintext padded to a bucket. */
const PADDED = 2;
/** The version named inside the associated data, for both versions (it predates version 2). */
const AD_VERSION = 1;
const TAG_BYTES = 8;
const NONCE_BYTES = 24;
export const AEAD_OVERHEAD = 1 + TAG_BYTES + NONCE_BYTES + 16;

/** What a sealed object is (purpose) and where it lives (path). */
export interface SealContext {
  purpose: string;
  path: string;
}

export function associatedData(ctx: SealContext): Uint8Array {
  return new TextEncoder().encode(`aerogramme-local/v${AD_VERSION}\u0000${ctx.purpose}\u0000${ctx.path}`);
}

/** What the AEAD authenticates: version 1 kept its associated data; later ones add their version. */
function aeadData(ad: Uint8Array, version: number): Uint8Array {
  if (version === EXACT) return ad;
  const out = new Uint8Array(ad.length + 2);
  out.set(ad);
  out[ad.length + 1] = version; // after a 0 byte, as the fields of associatedData are separated
  return out;
}

function contextTag(ad: Uint8Array): Uint8Array {
  return genericHash(TAG_BYTES, ad);
}

export interface SealOptions {
  /**
   * Seal without padding (version 1): only for plaintexts whose size is fixed, so that it tells
   * the host nothing.
   */
  exact?: boolean;
}

/** Seals `plaintext` for `ctx`; padded to a bucket unless `exact`. */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  ctx: SealContext,
  options: SealOptions = {},
): Uint8Array {
  const version = options.exact ? EXACT : PADDED;
  const ad = associatedData(ctx);
  const nonce = random(NONCE_BYTES);
  const ct = aeadEncrypt(
    version === PADDED ? padToBucket(plaintext) : plaintext,
    aeadData(ad, version),
    nonce,
    key,
  );
  const out = new Uint8Array(1 + TAG_BYTES + NONCE_BYTES + ct.length);
  out[0] = version;
  out.set(contextTag(ad), 1);
  out.set(nonce, 1 + TAG_BYTES);
  out.set(ct, 1 + TAG_BYTES + NONCE_BYTES);
  return out;
}

export function open(key: Uint8Array, sealed: Uint8Array, ctx: SealContext): Uint8Array {
  const where = `${ctx.purpose} at ${ctx.path}`;
  const version = sealed[0];
  if (sealed.length < AEAD_OVERHEAD || (version !== EXACT && version !== PADDED)) {
    throw new Tampered(`${where}: not a sealed object of a known version (${sealed.length} bytes)`);
  }
  const ad = associatedData(ctx);
  if (!equalBytes(sealed.subarray(1, 1 + TAG_BYTES), contextTag(ad))) {
    throw new WrongContext(`${where}: the object was sealed for another place or purpose (moved or swapped)`);
  }
  const nonce = sealed.subarray(1 + TAG_BYTES, 1 + TAG_BYTES + NONCE_BYTES);
  let plain: Uint8Array;
  try {
    plain = aeadDecrypt(sealed.subarray(1 + TAG_BYTES + NONCE_BYTES), aeadData(ad, version), nonce, key);
  } catch {
    throw new Tampered(`${where}: authentication failed; the stored bytes were changed or the key is wrong`);
  }
  return version === PADDED ? unpad(plain, where) : plain;
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
