/**
 * The key root (DESIGN.md §4, §5), stored as the blob `keys/root`: the X25519 public key in clear
 * (so mail can be delivered without a password) and one sealed entry per password. Each entry seals
 * the same secret part (master key + X25519 secret key) under a key derived from its password with
 * Argon2id. Adding, changing or removing a password rewrites only that entry; the master key, and
 * so all mail, stays as it is.
 *
 * Format (version 1): UTF-8 JSON
 *   { "v": 1, "publicKey": b64, "entries": [ { "id": hex, "salt": b64, "opslimit": n,
 *     "memlimit": n, "sealed": b64 } ] }
 * `sealed` is aead.ts seal() of masterKey(32) || secretKey(32) with the context
 * { purpose: "key-root-entry", path: "keys/root#<id>" }, unpadded (sealed version 1: the size is
 * fixed, so it says nothing).
 */
import { AuthFailed, Invalid, Tampered, WrongContext } from "../errors.ts";
import { open, randomBytes, seal, wipe } from "./aead.ts";
import {
  DEFAULT_KDF,
  derivePasswordKey,
  KDF_LIMITS,
  kdfOutOfBounds,
  newSalt,
  type KdfParams,
} from "./passwordKey.ts";
import { boxKeypair, equalBytes, genericHash, publicKeyOf } from "./sodium.ts";

export interface KeyRootEntry {
  id: string;
  salt: Uint8Array;
  kdf: KdfParams;
  sealed: Uint8Array;
}

export interface KeyRootFile {
  publicKey: Uint8Array;
  entries: KeyRootEntry[];
}

export interface UnlockedKeys {
  masterKey: Uint8Array;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/**
 * Bounds on what storage hands us (the host controls it). A wrong password tries every entry, so
 * the entries' Argon2id work together is bounded too: four times one entry at KDF_LIMITS.
 */
export const KEY_ROOT_LIMITS = {
  maxEntries: 16,
  maxBytes: 64 * 1024,
  maxTotalWork: 4 * KDF_LIMITS.maxWork,
} as const;

const entryContext = (id: string) => ({ purpose: "key-root-entry", path: `keys/root#${id}` });

async function sealEntry(keys: UnlockedKeys, password: string, kdf: KdfParams): Promise<KeyRootEntry> {
  const id = Buffer.from(randomBytes(8)).toString("hex");
  const salt = newSalt();
  const pwKey = await derivePasswordKey(password, salt, kdf);
  const secret = new Uint8Array(64);
  secret.set(keys.masterKey, 0);
  secret.set(keys.secretKey, 32);
  try {
    // Exact: the secret is always 64 bytes, and a padded copy of it could not be wiped.
    return { id, salt, kdf, sealed: seal(pwKey, secret, entryContext(id), { exact: true }) };
  } finally {
    wipe(pwKey);
    wipe(secret);
  }
}

/** The keys, if `password` opens `entry`; undefined if it does not; Tampered/WrongContext if the entry is damaged. */
async function tryEntry(
  root: KeyRootFile,
  entry: KeyRootEntry,
  password: string,
): Promise<UnlockedKeys | undefined> {
  const pwKey = await derivePasswordKey(password, entry.salt, entry.kdf);
  try {
    const secret = open(pwKey, entry.sealed, entryContext(entry.id));
    const keys = {
      masterKey: secret.slice(0, 32),
      secretKey: secret.slice(32, 64),
      publicKey: Uint8Array.from(root.publicKey),
    };
    wipe(secret);
    if (!equalBytes(publicKeyOf(keys.secretKey), root.publicKey)) {
      wipeKeys(keys);
      throw new Tampered(
        "key root: its public key does not match the secret key of an entry; the root was altered",
      );
    }
    return keys;
  } catch (err) {
    // A wrong password and a changed ciphertext look the same to an AEAD: both are "does not open".
    if (err instanceof Tampered && !/public key/.test(err.message)) return undefined;
    if (err instanceof WrongContext) throw new Tampered(`key root entry ${entry.id} was moved or altered`);
    throw err;
  } finally {
    wipe(pwKey);
  }
}

export async function createKeyRoot(
  password: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<{ root: KeyRootFile; keys: UnlockedKeys }> {
  const kp = boxKeypair();
  const keys: UnlockedKeys = {
    masterKey: randomBytes(32),
    publicKey: kp.publicKey,
    secretKey: kp.secretKey,
  };
  return {
    root: { publicKey: Uint8Array.from(kp.publicKey), entries: [await sealEntry(keys, password, kdf)] },
    keys,
  };
}

/** The index of the entry `password` opens and the keys; AuthFailed when it opens none. */
async function unlockWithIndex(root: KeyRootFile, password: string): Promise<[number, UnlockedKeys]> {
  for (let i = 0; i < root.entries.length; i++) {
    const keys = await tryEntry(root, root.entries[i]!, password);
    if (keys) return [i, keys];
  }
  throw new AuthFailed();
}

export async function unlockKeyRoot(root: KeyRootFile, password: string): Promise<UnlockedKeys> {
  return (await unlockWithIndex(root, password))[1];
}

export async function addPassword(
  root: KeyRootFile,
  keys: UnlockedKeys,
  newPassword: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<KeyRootFile> {
  if (root.entries.length >= KEY_ROOT_LIMITS.maxEntries) {
    throw new Invalid(
      `this account already has ${root.entries.length} passwords, the most a key root holds: remove one first`,
    );
  }
  return { ...root, entries: [...root.entries, await sealEntry(keys, newPassword, kdf)] };
}

export async function changePassword(
  root: KeyRootFile,
  currentPassword: string,
  newPassword: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<KeyRootFile> {
  const [i, keys] = await unlockWithIndex(root, currentPassword);
  try {
    const entries = [...root.entries];
    entries[i] = await sealEntry(keys, newPassword, kdf);
    return { ...root, entries };
  } finally {
    wipeKeys(keys);
  }
}

export async function removePassword(root: KeyRootFile, password: string): Promise<KeyRootFile> {
  const [i, keys] = await unlockWithIndex(root, password);
  wipeKeys(keys);
  if (root.entries.length === 1) {
    throw new Invalid("this is the account's only password: add another one before removing it");
  }
  return { ...root, entries: root.entries.filter((_, j) => j !== i) };
}

export function wipeKeys(keys: UnlockedKeys): void {
  wipe(keys.masterKey);
  wipe(keys.secretKey);
}

/** A key for one purpose, derived from the master key (BLAKE2b keyed with the master key). */
export function deriveSubkey(masterKey: Uint8Array, purpose: string): Uint8Array {
  return genericHash(32, new TextEncoder().encode(`aerogramme-local subkey: ${purpose}`), masterKey);
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString("base64");

export function serializeKeyRoot(root: KeyRootFile): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      publicKey: b64(root.publicKey),
      entries: root.entries.map((e) => ({
        id: e.id,
        salt: b64(e.salt),
        opslimit: e.kdf.opslimit,
        memlimit: e.kdf.memlimit,
        sealed: b64(e.sealed),
      })),
    }),
  );
}

export function parseKeyRoot(bytes: Uint8Array): KeyRootFile {
  if (bytes.length > KEY_ROOT_LIMITS.maxBytes) {
    throw new Tampered(
      `the key root (keys/root) is ${bytes.length} bytes, more than a key root can be (${KEY_ROOT_LIMITS.maxBytes}): it was damaged or replaced`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new Tampered("the key root (keys/root) is not readable: it was damaged or replaced");
  }
  const p = parsed as {
    v?: unknown;
    publicKey?: unknown;
    entries?: { id?: unknown; salt?: unknown; opslimit?: unknown; memlimit?: unknown; sealed?: unknown }[];
  };
  const isStr = (x: unknown): x is string => typeof x === "string";
  const isNum = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x > 0;
  if (p.v !== 1 || !isStr(p.publicKey) || !Array.isArray(p.entries) || p.entries.length === 0) {
    throw new Tampered("the key root (keys/root) has an unknown shape: it was damaged or replaced");
  }
  if (p.entries.length > KEY_ROOT_LIMITS.maxEntries) {
    throw new Tampered(
      `the key root (keys/root) has ${p.entries.length} entries, more than the ${KEY_ROOT_LIMITS.maxEntries} it may hold: it was damaged or replaced`,
    );
  }
  let totalWork = 0;
  const entries = p.entries.map((e) => {
    if (!isStr(e.id) || !isStr(e.salt) || !isNum(e.opslimit) || !isNum(e.memlimit) || !isStr(e.sealed)) {
      throw new Tampered("an entry of the key root (keys/root) is malformed");
    }
    const outOfBounds = kdfOutOfBounds({ opslimit: e.opslimit, memlimit: e.memlimit });
    if (outOfBounds) {
      throw new Tampered(
        `an entry of the key root (keys/root) asks for Argon2id parameters out of bounds (${outOfBounds}): it was damaged or replaced`,
      );
    }
    totalWork += e.opslimit * e.memlimit;
    if (totalWork > KEY_ROOT_LIMITS.maxTotalWork) {
      throw new Tampered(
        "the key root's (keys/root) entries together ask for more Argon2id work than a login may cost: it was damaged or replaced",
      );
    }
    return {
      id: e.id,
      salt: Buffer.from(e.salt, "base64"),
      kdf: { opslimit: e.opslimit, memlimit: e.memlimit },
      sealed: Buffer.from(e.sealed, "base64"),
    };
  });
  const publicKey = Buffer.from(p.publicKey, "base64");
  if (publicKey.length !== 32) throw new Tampered("the key root's public key has the wrong length");
  return { publicKey, entries };
}
