/**
 * Password -> key with Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13). The salt is random per
 * entry and the parameters are stored beside it, so they can be raised later without breaking old
 * entries. DEFAULT_KDF is the measured choice (docs/crypto.md).
 */
import { Invalid } from "../errors.ts";
import { argon2id, PWHASH_SALT_BYTES, randomBytes } from "./sodium.ts";

export interface KdfParams {
  opslimit: number;
  /** Bytes. */
  memlimit: number;
}

/** 4 passes over 64 MiB: about 0.13 s here (docs/crypto.md). */
export const DEFAULT_KDF: KdfParams = { opslimit: 4, memlimit: 64 * 1024 * 1024 };

/** Cheap parameters for tests only: never for real accounts. */
export const TEST_KDF: KdfParams = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

export const SALT_BYTES = 16;

/**
 * The most a key root may ask of Argon2id. The parameters come from storage, which the host
 * controls: without a ceiling a huge memlimit kills the process and a huge opslimit hangs it (and
 * the libuv thread running it). The ceiling is libsodium's "sensitive" preset: 4 passes over
 * 1 GiB, about 3.5 s on the reference machine; more passes are allowed over less memory.
 */
export const KDF_LIMITS = {
  maxOpslimit: 16,
  maxMemlimit: 1024 * 1024 * 1024,
  /** opslimit x memlimit, bytes. */
  maxWork: 4 * 1024 * 1024 * 1024,
} as const;

/** Why `params` are outside KDF_LIMITS (or too weak for libsodium), or undefined when they fit. */
export function kdfOutOfBounds(params: KdfParams): string | undefined {
  const { opslimit, memlimit } = params;
  if (!Number.isSafeInteger(opslimit) || !Number.isSafeInteger(memlimit))
    return "not whole numbers below 2^53";
  if (opslimit < 1 || memlimit < 8192) return "too weak to be valid";
  if (opslimit > KDF_LIMITS.maxOpslimit) return `opslimit ${opslimit} is above ${KDF_LIMITS.maxOpslimit}`;
  if (memlimit > KDF_LIMITS.maxMemlimit) {
    return `memlimit ${memlimit} is above ${KDF_LIMITS.maxMemlimit} bytes (1 GiB)`;
  }
  if (opslimit * memlimit > KDF_LIMITS.maxWork) {
    return `opslimit x memlimit ${opslimit * memlimit} is above ${KDF_LIMITS.maxWork} (4 passes over 1 GiB)`;
  }
  return undefined;
}

export function newSalt(): Uint8Array {
  return randomBytes(SALT_BYTES);
}

/** Runs on libuv's thread pool: other connections keep being served meanwhile. */
export function derivePasswordKey(
  password: string,
  salt: Uint8Array,
  params: KdfParams,
): Promise<Uint8Array> {
  if (salt.length !== PWHASH_SALT_BYTES)
    return Promise.reject(new Invalid(`Argon2id salt must be ${PWHASH_SALT_BYTES} bytes`));
  const outOfBounds = kdfOutOfBounds(params);
  if (outOfBounds) return Promise.reject(new Invalid(`Argon2id parameters refused: ${outOfBounds}`));
  return argon2id(32, new TextEncoder().encode(password), salt, params.opslimit, params.memlimit);
}
