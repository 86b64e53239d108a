/**
 * The one place that touches libsodium (DESIGN.md §5: only src/crypto/ does), through sodium-native:
 * native libsodium, 4-6x faster than the wasm build for Argon2id and the AEAD, and its Argon2id runs
 * on libuv's thread pool, so a login does not stall the other connections. The primitives are the
 * same libsodium functions as before, so everything stored opens unchanged
 * (test/crypto/knownAnswers.test.ts). Each function returns fresh bytes; callers never size buffers.
 */
import { createRequire } from "node:module";
import type SodiumNative from "sodium-native";
import { requireSodiumNative } from "./sodiumAddon.ts";

/**
 * Loaded with `require`, not `import`: sodium-native is CommonJS, and Node's ES module loader
 * scans and wraps its 108 KB index.js, ~30 ms more CPU than `require` at every start of a
 * process that seals or opens anything (every command but `--help`; a mail fetcher starts
 * `deliver` once per message). The same module and the same checked wrappers either way. Its
 * addon is found without require-addon's resolver where that finds the same file (sodiumAddon.ts).
 */
const na = requireSodiumNative(createRequire(import.meta.url)) as typeof SodiumNative;

/** Kept for callers written for the wasm build, which had to be awaited before first use. */
export function loadSodium(): Promise<void> {
  return Promise.resolve();
}

export const AEAD_NONCE_BYTES = na.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
export const AEAD_MAC_BYTES = na.crypto_aead_xchacha20poly1305_ietf_ABYTES;
export const AEAD_KEY_BYTES = na.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
export const PWHASH_SALT_BYTES = na.crypto_pwhash_SALTBYTES;

const bytes = (n: number) => new Uint8Array(n);

export function aeadEncrypt(
  plain: Uint8Array,
  ad: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array {
  const out = bytes(plain.length + AEAD_MAC_BYTES);
  na.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plain, ad, null, nonce, key);
  return out;
}

/**
 * As aeadEncrypt, in place: the first `plainLength` bytes of `room` are encrypted where they lie
 * and the MAC follows them, so `room` must be exactly `plainLength` + AEAD_MAC_BYTES long.
 * libsodium encrypts with a stream XOR and computes the MAC over the ciphertext, so input and
 * output may be the same bytes.
 */
export function aeadEncryptInPlace(
  room: Uint8Array,
  plainLength: number,
  ad: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): void {
  if (room.length !== plainLength + AEAD_MAC_BYTES)
    throw new Error("aead: the room must hold the plaintext and its MAC");
  na.crypto_aead_xchacha20poly1305_ietf_encrypt(room, room.subarray(0, plainLength), ad, null, nonce, key);
}

/** Throws when the ciphertext does not authenticate (changed bytes, wrong key, wrong data). */
export function aeadDecrypt(
  cipher: Uint8Array,
  ad: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array {
  if (cipher.length < AEAD_MAC_BYTES) throw new Error("could not verify data");
  return aeadDecryptInto(bytes(cipher.length - AEAD_MAC_BYTES), cipher, ad, nonce, key);
}

/**
 * As aeadDecrypt, into `out` (at least the plaintext's length, not overlapping `cipher`); returns
 * the view of `out` that holds the plaintext.
 */
export function aeadDecryptInto(
  out: Uint8Array,
  cipher: Uint8Array,
  ad: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array {
  if (cipher.length < AEAD_MAC_BYTES) throw new Error("could not verify data");
  const plain = out.subarray(0, cipher.length - AEAD_MAC_BYTES);
  na.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, cipher, ad, nonce, key);
  return plain;
}

/** Reused by genericHash, which is synchronous, so no two calls share it at once. */
const hashState = bytes(na.crypto_generichash_STATEBYTES);

/**
 * BLAKE2b of `input` (crypto_generichash), keyed when `key` is given. Through init/update/final:
 * sodium-native's one-shot call refuses outputs under 16 bytes, and the context tags are 8.
 */
export function genericHash(length: number, input: Uint8Array, key?: Uint8Array): Uint8Array {
  const out = bytes(length);
  na.crypto_generichash_init(hashState, key ?? null, length);
  na.crypto_generichash_update(hashState, input);
  na.crypto_generichash_final(hashState, out);
  return out;
}

export function randomBytes(n: number): Uint8Array {
  const out = bytes(n);
  na.randombytes_buf(out);
  return out;
}

/** Constant-time equality; false for different lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && na.sodium_memcmp(a, b);
}

export function memzero(buf: Uint8Array): void {
  na.sodium_memzero(buf);
}

/** Argon2id v1.3 (crypto_pwhash), computed off the main thread. */
export async function argon2id(
  length: number,
  password: Uint8Array,
  salt: Uint8Array,
  opslimit: number,
  memlimit: number,
): Promise<Uint8Array> {
  const out = bytes(length);
  await na.crypto_pwhash_async(out, password, salt, opslimit, memlimit, na.crypto_pwhash_ALG_ARGON2ID13);
  return out;
}

export function boxKeypair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = bytes(na.crypto_box_PUBLICKEYBYTES);
  const secretKey = bytes(na.crypto_box_SECRETKEYBYTES);
  na.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

export function boxSeal(message: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const out = bytes(message.length + na.crypto_box_SEALBYTES);
  na.crypto_box_seal(out, message, publicKey);
  return out;
}

/** The message, or undefined when the box does not open with these keys. */
export function boxSealOpen(
  sealed: Uint8Array,
  publicKey: Uint8Array,
  secretKey: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < na.crypto_box_SEALBYTES) return undefined;
  const out = bytes(sealed.length - na.crypto_box_SEALBYTES);
  return na.crypto_box_seal_open(out, sealed, publicKey, secretKey) ? out : undefined;
}

export const BOX_NONCE_BYTES = na.crypto_box_NONCEBYTES;
export const BOX_MAC_BYTES = na.crypto_box_MACBYTES;

/** crypto_box_easy: authenticated encryption from `secretKey`'s owner to `publicKey`'s. */
export function boxEasy(
  message: Uint8Array,
  nonce: Uint8Array,
  publicKey: Uint8Array,
  secretKey: Uint8Array,
): Uint8Array {
  const out = bytes(message.length + na.crypto_box_MACBYTES);
  na.crypto_box_easy(out, message, nonce, publicKey, secretKey);
  return out;
}

/** The message, or undefined when the box was not made by `publicKey`'s owner for these keys. */
export function boxOpenEasy(
  cipher: Uint8Array,
  nonce: Uint8Array,
  publicKey: Uint8Array,
  secretKey: Uint8Array,
): Uint8Array | undefined {
  if (cipher.length < na.crypto_box_MACBYTES) return undefined;
  const out = bytes(cipher.length - na.crypto_box_MACBYTES);
  return na.crypto_box_open_easy(out, cipher, nonce, publicKey, secretKey) ? out : undefined;
}

/** The X25519 public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const out = bytes(na.crypto_box_PUBLICKEYBYTES);
  na.crypto_scalarmult_base(out, secretKey);
  return out;
}
