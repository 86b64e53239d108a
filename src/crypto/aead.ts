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
 *
 * Version 3 is version 2 under a key of a later epoch (`passwd rekey`, keyEpochs.ts): the epoch
 * (u32 BE) follows the version byte and ends the associated data, so an object says which key
 * sealed it and no key is ever tried in vain. Epoch 0 (every account until its first rekey) is
 * written as version 2, so its sizes do not change.
 */
import { Tampered, WrongContext } from "../errors.ts";
import { bucketSize, padInPlace, unpad } from "./padding.ts";
import {
  aeadDecrypt,
  aeadDecryptInto,
  aeadEncrypt,
  aeadEncryptInPlace,
  AEAD_MAC_BYTES,
  equalBytes,
  genericHash,
  memzero,
  randomBytes as random,
} from "./sodium.ts";

/** Sealed without padding: still read; written only with `exact`. */
const EXACT = 1;
/** Sealed with the plaintext padded to a bucket. */
const PADDED = 2;
/** PADDED, under the key of a key epoch above 0, named after the version byte. */
const PADDED_EPOCH = 3;
const EPOCH_BYTES = 4;
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

/**
 * The keys of one purpose across key epochs: seals under the current epoch's, opens what any epoch
 * it still holds sealed. The holder decides what an epoch it does not hold means (keyEpochs.ts).
 */
export interface KeyRing {
  /** The epoch to seal under now and its key; throws when this holder must not write any more. */
  sealingKey(): { epoch: number; key: Uint8Array };
  /** The key of `epoch`; throws (naming `where`) when it is not held. */
  openingKey(epoch: number, where: string): Uint8Array;
}

/** A bare key is epoch 0's (an account never rekeyed, the key root's entries, local tests). */
export type SealKey = Uint8Array | KeyRing;

function sealingKey(key: SealKey): { epoch: number; key: Uint8Array } {
  return key instanceof Uint8Array ? { epoch: 0, key } : key.sealingKey();
}

function openingKey(key: SealKey, epoch: number, where: string): Uint8Array {
  if (!(key instanceof Uint8Array)) return key.openingKey(epoch, where);
  if (epoch !== 0) throw new Tampered(`${where}: sealed under key epoch ${epoch}, which is not held here`);
  return key;
}

/** The key epoch that sealed `sealed` (0 for versions 1 and 2), without opening it. */
export function sealedEpoch(sealed: Uint8Array): number {
  if (sealed[0] !== PADDED_EPOCH || sealed.length < 1 + EPOCH_BYTES) return 0;
  return new DataView(sealed.buffer, sealed.byteOffset + 1, EPOCH_BYTES).getUint32(0);
}

const adEncoder = new TextEncoder();

export function associatedData(ctx: SealContext): Uint8Array {
  return adEncoder.encode(`aerogramme-local/v${AD_VERSION}\u0000${ctx.purpose}\u0000${ctx.path}`);
}

/** What the AEAD authenticates: version 1 kept its associated data; later ones add their version. */
function aeadData(ad: Uint8Array, version: number, epoch: number): Uint8Array {
  if (version === EXACT) return ad;
  const epochPart = version === PADDED_EPOCH ? 1 + EPOCH_BYTES : 0;
  const out = new Uint8Array(ad.length + 2 + epochPart);
  out.set(ad);
  out[ad.length + 1] = version; // after a 0 byte, as the fields of associatedData are separated
  if (epochPart) new DataView(out.buffer).setUint32(ad.length + 3, epoch);
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
  sealKey: SealKey,
  plaintext: Uint8Array,
  ctx: SealContext,
  options: SealOptions = {},
): Uint8Array {
  if (!options.exact) return sealParts(sealKey, [plaintext], ctx);
  const { epoch, key } = sealingKey(sealKey);
  if (epoch !== 0) throw new Error("aead: exact sealing is for epoch 0 keys only");
  const ad = associatedData(ctx);
  const nonce = random(NONCE_BYTES);
  const ct = aeadEncrypt(plaintext, aeadData(ad, EXACT, epoch), nonce, key);
  const out = new Uint8Array(headBytes(EXACT) + ct.length);
  out.set(ct, writeHead(out, EXACT, epoch, ad, nonce));
  return out;
}

/** Bytes before the ciphertext: version, the epoch (PADDED_EPOCH only), context tag, nonce. */
function headBytes(version: number): number {
  return (version === PADDED_EPOCH ? 1 + EPOCH_BYTES : 1) + TAG_BYTES + NONCE_BYTES;
}

/** Writes the head of a sealed object at the start of `out`; returns where the ciphertext goes. */
function writeHead(
  out: Uint8Array,
  version: number,
  epoch: number,
  ad: Uint8Array,
  nonce: Uint8Array,
): number {
  const head = version === PADDED_EPOCH ? 1 + EPOCH_BYTES : 1;
  out[0] = version;
  if (version === PADDED_EPOCH) new DataView(out.buffer, out.byteOffset).setUint32(1, epoch);
  out.set(contextTag(ad), head);
  out.set(nonce, head + TAG_BYTES);
  return headBytes(version);
}

/**
 * `seal` (padded) of the parts joined, into one buffer of the sealed object's size: the parts are
 * copied where the plaintext goes, padded and encrypted there. A checkpoint or snapshot of a
 * 100,000-message mailbox is ~5 MB: padding, encrypting and framing it copy after copy, and joining
 * its parts first, left dead buffers that only V8's next full collection frees (issue 11).
 */
export function sealParts(sealKey: SealKey, parts: readonly Uint8Array[], ctx: SealContext): Uint8Array {
  const { epoch, key } = sealingKey(sealKey);
  const version = epoch === 0 ? PADDED : PADDED_EPOCH;
  let length = 0;
  for (const part of parts) length += part.length;
  const bucket = bucketSize(length + 1);
  // zero-filled: the padding's zeros
  const out = new Uint8Array(headBytes(version) + bucket + AEAD_MAC_BYTES);
  const ad = associatedData(ctx);
  const nonce = random(NONCE_BYTES);
  const start = writeHead(out, version, epoch, ad, nonce);
  let at = start;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  const room = out.subarray(start);
  padInPlace(room.subarray(0, bucket), length);
  aeadEncryptInPlace(room, bucket, aeadData(ad, version, epoch), nonce, key);
  return out;
}

export function open(sealKey: SealKey, sealed: Uint8Array, ctx: SealContext): Uint8Array {
  const opening = prepareOpen(sealKey, sealed, ctx);
  let plain: Uint8Array;
  try {
    plain = aeadDecrypt(opening.cipher, opening.ad, opening.nonce, opening.key);
  } catch {
    throw tampered(opening.where);
  }
  return opening.exact ? plain : unpad(plain, opening.where);
}

/** Plaintext room reused by openTransient; grown to the largest object opened through it. */
let transient = new Uint8Array(4096);

/**
 * As `open`, with the plaintext handed to `use` as a view of a buffer that the next call reuses
 * (and that is zeroed once `use` returns): for many small objects read and decoded at once (a
 * message list's meta rows), each of which cost a fresh plaintext buffer. `use` must copy what it
 * keeps and must not call back in.
 */
export function openTransient<T>(
  sealKey: SealKey,
  sealed: Uint8Array,
  ctx: SealContext,
  use: (plain: Uint8Array) => T,
): T {
  const opening = prepareOpen(sealKey, sealed, ctx);
  if (transient.length < opening.cipher.length) {
    let size = transient.length;
    while (size < opening.cipher.length) size *= 2;
    transient = new Uint8Array(size);
  }
  const room = transient;
  let padded: Uint8Array;
  try {
    padded = aeadDecryptInto(room, opening.cipher, opening.ad, opening.nonce, opening.key);
  } catch {
    throw tampered(opening.where);
  }
  try {
    return use(opening.exact ? padded : unpad(padded, opening.where));
  } finally {
    memzero(padded);
  }
}

function tampered(where: string): Tampered {
  return new Tampered(`${where}: authentication failed; the stored bytes were changed or the key is wrong`);
}

/** Everything `open` checks before decrypting, and what decrypting takes. */
function prepareOpen(
  sealKey: SealKey,
  sealed: Uint8Array,
  ctx: SealContext,
): { where: string; exact: boolean; ad: Uint8Array; nonce: Uint8Array; key: Uint8Array; cipher: Uint8Array } {
  const where = `${ctx.purpose} at ${ctx.path}`;
  const version = sealed[0];
  const head = version === PADDED_EPOCH ? 1 + EPOCH_BYTES : 1;
  if (
    sealed.length < AEAD_OVERHEAD + head - 1 ||
    (version !== EXACT && version !== PADDED && version !== PADDED_EPOCH)
  ) {
    throw new Tampered(`${where}: not a sealed object of a known version (${sealed.length} bytes)`);
  }
  const epoch = sealedEpoch(sealed);
  if (version === PADDED_EPOCH && epoch === 0) throw new Tampered(`${where}: an epoch-0 object in version 3`);
  const ad = associatedData(ctx);
  if (!equalBytes(sealed.subarray(head, head + TAG_BYTES), contextTag(ad))) {
    throw new WrongContext(`${where}: the object was sealed for another place or purpose (moved or swapped)`);
  }
  return {
    where,
    exact: version === EXACT,
    ad: aeadData(ad, version, epoch),
    nonce: sealed.subarray(head + TAG_BYTES, head + TAG_BYTES + NONCE_BYTES),
    key: openingKey(sealKey, epoch, where),
    cipher: sealed.subarray(head + TAG_BYTES + NONCE_BYTES),
  };
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
