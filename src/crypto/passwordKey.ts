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
  if (params.opslimit < 1 || params.memlimit < 8192)
    return Promise.reject(new Invalid("Argon2id parameters are too weak to be valid"));
  return argon2id(32, new TextEncoder().encode(password), salt, params.opslimit, params.memlimit);
}
