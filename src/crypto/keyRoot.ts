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
 *
 * Version 2, after a `passwd rekey` (key epochs, docs/crypto.md): as version 1 plus `"epoch": n`
 * (n >= 1) and `"carried": b64`. Each entry seals the epoch's master key and secret key with the
 * path "keys/root#<id>@<n>" (so the epoch in clear cannot be changed), and `carried` is sealed
 * (padded) under the subkey "key-root-carried" of the epoch's master key, path "keys/root@<n>":
 * JSON { name, retired: [b64 public keys], previous: [{ epoch, masterKey, secretKey }] }. `previous`
 * holds the keys of the epochs a running rekey still has objects under (dropped when it is done);
 * `retired` the account's earlier public keys, which let a home re-pin (deliveryKeys.ts); `name` is
 * the account's name for local folders, unchanged across epochs.
 */
import { AuthFailed, Conflict, Invalid, Tampered, WrongContext } from "../errors.ts";
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
  /** 0 until the first rekey (format version 1); then each rekey adds one. */
  epoch: number;
  publicKey: Uint8Array;
  entries: KeyRootEntry[];
  /** Sealed under the epoch's master key; present from epoch 1 on. */
  carried?: Uint8Array;
}

/** One key epoch's keys. */
export interface EpochKeys {
  epoch: number;
  masterKey: Uint8Array;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface UnlockedKeys extends EpochKeys {
  /** Earlier epochs whose objects a rekey has not re-sealed yet, newest first. */
  previous: EpochKeys[];
  /** The public keys the account had before this epoch, oldest first. */
  retiredPublicKeys: Uint8Array[];
  /** The account's name for local folders (hex), the same in every epoch. */
  accountName: string;
}

/**
 * Bounds on what storage hands us (the host controls it). A wrong password tries every entry, so
 * the entries' Argon2id work together is bounded too: four times one entry at KDF_LIMITS.
 */
export const KEY_ROOT_LIMITS = {
  maxEntries: 16,
  maxBytes: 64 * 1024,
  maxTotalWork: 4 * KDF_LIMITS.maxWork,
  /** Epochs a rekey may still be re-sealing (one, unless rekeys are stacked). */
  maxPrevious: 4,
  maxRetired: 64,
} as const;

const entryContext = (id: string, epoch: number) => ({
  purpose: "key-root-entry",
  path: epoch === 0 ? `keys/root#${id}` : `keys/root#${id}@${epoch}`,
});
const carriedContext = (epoch: number) => ({ purpose: "key-root-carried", path: `keys/root@${epoch}` });
const CARRIED_SUBKEY = "key-root-carried";

/** The account's folder name as every build before key epochs derived it (localMarks.ts used it). */
function accountNameOf(masterKey: Uint8Array): string {
  return Buffer.from(deriveSubkey(masterKey, "local-marks-folder")).subarray(0, 12).toString("hex");
}

async function sealEntry(keys: UnlockedKeys, password: string, kdf: KdfParams): Promise<KeyRootEntry> {
  const id = Buffer.from(randomBytes(8)).toString("hex");
  const salt = newSalt();
  const pwKey = await derivePasswordKey(password, salt, kdf);
  const secret = new Uint8Array(64);
  secret.set(keys.masterKey, 0);
  secret.set(keys.secretKey, 32);
  try {
    // Exact: the secret is always 64 bytes, and a padded copy of it could not be wiped.
    return { id, salt, kdf, sealed: seal(pwKey, secret, entryContext(id, keys.epoch), { exact: true }) };
  } finally {
    wipe(pwKey);
    wipe(secret);
  }
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString("base64");

interface CarriedJson {
  name: string;
  retired: string[];
  previous: { epoch: number; masterKey: string; secretKey: string }[];
}

function sealCarried(keys: UnlockedKeys): Uint8Array {
  const carried: CarriedJson = {
    name: keys.accountName,
    retired: keys.retiredPublicKeys.map(b64),
    previous: keys.previous.map((p) => ({
      epoch: p.epoch,
      masterKey: b64(p.masterKey),
      secretKey: b64(p.secretKey),
    })),
  };
  const subkey = deriveSubkey(keys.masterKey, CARRIED_SUBKEY);
  try {
    return seal(subkey, new TextEncoder().encode(JSON.stringify(carried)), carriedContext(keys.epoch));
  } finally {
    wipe(subkey);
  }
}

/** What `carried` holds, checked; Tampered when it does not open or breaks a bound. */
function openCarried(root: KeyRootFile, masterKey: Uint8Array): Omit<UnlockedKeys, keyof EpochKeys> {
  if (!root.carried)
    throw new Tampered("the key root (keys/root) lacks the keys its epoch needs: it was altered");
  const subkey = deriveSubkey(masterKey, CARRIED_SUBKEY);
  let parsed: CarriedJson;
  try {
    parsed = JSON.parse(
      new TextDecoder().decode(open(subkey, root.carried, carriedContext(root.epoch))),
    ) as CarriedJson;
  } catch {
    throw new Tampered("the key root's (keys/root) carried keys do not open: it was damaged or replaced");
  } finally {
    wipe(subkey);
  }
  const key32 = (s: unknown) => {
    const bytes = typeof s === "string" ? Buffer.from(s, "base64") : undefined;
    if (!bytes || bytes.length !== 32) throw new Tampered("the key root's carried keys are malformed");
    return Uint8Array.from(bytes);
  };
  if (
    typeof parsed.name !== "string" ||
    !Array.isArray(parsed.retired) ||
    !Array.isArray(parsed.previous) ||
    parsed.retired.length > KEY_ROOT_LIMITS.maxRetired ||
    parsed.previous.length > KEY_ROOT_LIMITS.maxPrevious
  ) {
    throw new Tampered("the key root's carried keys are malformed");
  }
  const previous = parsed.previous.map((p) => {
    if (!Number.isInteger(p.epoch) || p.epoch < 0 || p.epoch >= root.epoch) {
      throw new Tampered("the key root's carried keys name an impossible epoch");
    }
    const secretKey = key32(p.secretKey);
    return { epoch: p.epoch, masterKey: key32(p.masterKey), secretKey, publicKey: publicKeyOf(secretKey) };
  });
  return { accountName: parsed.name, retiredPublicKeys: parsed.retired.map(key32), previous };
}

/** The keys, if `password` opens `entry`; undefined if it does not; Tampered/WrongContext if the entry is damaged. */
async function tryEntry(
  root: KeyRootFile,
  entry: KeyRootEntry,
  password: string,
): Promise<UnlockedKeys | undefined> {
  const pwKey = await derivePasswordKey(password, entry.salt, entry.kdf);
  let secret: Uint8Array;
  try {
    secret = open(pwKey, entry.sealed, entryContext(entry.id, root.epoch));
  } catch (err) {
    // A wrong password and a changed ciphertext look the same to an AEAD: both are "does not open".
    if (err instanceof WrongContext) throw new Tampered(`key root entry ${entry.id} was moved or altered`);
    if (err instanceof Tampered) return undefined;
    throw err;
  } finally {
    wipe(pwKey);
  }
  const current: EpochKeys = {
    epoch: root.epoch,
    masterKey: secret.slice(0, 32),
    secretKey: secret.slice(32, 64),
    publicKey: Uint8Array.from(root.publicKey),
  };
  wipe(secret);
  try {
    if (!equalBytes(publicKeyOf(current.secretKey), root.publicKey)) {
      throw new Tampered(
        "key root: its public key does not match the secret key of an entry; the root was altered",
      );
    }
    if (root.epoch === 0) {
      return {
        ...current,
        previous: [],
        retiredPublicKeys: [],
        accountName: accountNameOf(current.masterKey),
      };
    }
    return { ...current, ...openCarried(root, current.masterKey) };
  } catch (err) {
    wipeKeys(current);
    throw err;
  }
}

export async function createKeyRoot(
  password: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<{ root: KeyRootFile; keys: UnlockedKeys }> {
  const kp = boxKeypair();
  const masterKey = randomBytes(32);
  const keys: UnlockedKeys = {
    epoch: 0,
    masterKey,
    publicKey: kp.publicKey,
    secretKey: kp.secretKey,
    previous: [],
    retiredPublicKeys: [],
    accountName: accountNameOf(masterKey),
  };
  return {
    root: {
      epoch: 0,
      publicKey: Uint8Array.from(kp.publicKey),
      entries: [await sealEntry(keys, password, kdf)],
    },
    keys,
  };
}

/**
 * A new key epoch: a new master key and X25519 key pair, sealed for `password` (or for
 * `newPassword` when given) alone (every other entry sealed the old keys, and keeping it would let
 * its password open them: the other passwords must be added again), with the old epoch's keys carried so that what they sealed still opens
 * until a rekey job has re-sealed it (then `withoutPreviousEpochs`). Conflict while an earlier
 * rekey still carries an epoch: finish that one first.
 */
export async function rekeyKeyRoot(
  root: KeyRootFile,
  password: string,
  kdf: KdfParams = DEFAULT_KDF,
  newPassword: string = password,
): Promise<{ root: KeyRootFile; keys: UnlockedKeys }> {
  const [, old] = await unlockWithIndex(root, password);
  try {
    if (old.previous.length > 0) {
      throw new Conflict(
        `a rekey of this account (to key epoch ${old.epoch}) is not finished: run \`aerogramme-local passwd rekey\` again to finish it first`,
      );
    }
    const kp = boxKeypair();
    const keys: UnlockedKeys = {
      epoch: old.epoch + 1,
      masterKey: randomBytes(32),
      publicKey: kp.publicKey,
      secretKey: kp.secretKey,
      previous: [copyEpoch(old)],
      retiredPublicKeys: [
        ...old.retiredPublicKeys.map((k) => Uint8Array.from(k)),
        Uint8Array.from(old.publicKey),
      ].slice(-KEY_ROOT_LIMITS.maxRetired),
      accountName: old.accountName,
    };
    const entries = [await sealEntry(keys, newPassword, kdf)];
    return {
      root: {
        epoch: keys.epoch,
        publicKey: Uint8Array.from(kp.publicKey),
        entries,
        carried: sealCarried(keys),
      },
      keys,
    };
  } finally {
    wipeKeys(old);
  }
}

/**
 * The same root without the earlier epochs' keys, once nothing in storage is sealed under them:
 * an old copy of the root and an old password then open nothing that storage still holds.
 */
export function withoutPreviousEpochs(root: KeyRootFile, keys: UnlockedKeys): KeyRootFile {
  if (root.epoch !== keys.epoch || !equalBytes(root.publicKey, keys.publicKey)) {
    throw new Conflict("the key root changed since it was opened: open it again");
  }
  return { ...root, carried: sealCarried({ ...keys, previous: [] }) };
}

function copyEpoch(k: EpochKeys): EpochKeys {
  return {
    epoch: k.epoch,
    masterKey: Uint8Array.from(k.masterKey),
    publicKey: Uint8Array.from(k.publicKey),
    secretKey: Uint8Array.from(k.secretKey),
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

export function wipeKeys(keys: EpochKeys & { previous?: EpochKeys[] }): void {
  wipe(keys.masterKey);
  wipe(keys.secretKey);
  for (const p of keys.previous ?? []) wipeKeys(p);
}

/** A key for one purpose, derived from the master key (BLAKE2b keyed with the master key). */
export function deriveSubkey(masterKey: Uint8Array, purpose: string): Uint8Array {
  return genericHash(32, new TextEncoder().encode(`aerogramme-local subkey: ${purpose}`), masterKey);
}

export function serializeKeyRoot(root: KeyRootFile): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: root.epoch === 0 ? 1 : 2,
      ...(root.epoch === 0 ? {} : { epoch: root.epoch, carried: b64(root.carried!) }),
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
    epoch?: unknown;
    carried?: unknown;
    publicKey?: unknown;
    entries?: { id?: unknown; salt?: unknown; opslimit?: unknown; memlimit?: unknown; sealed?: unknown }[];
  };
  const isStr = (x: unknown): x is string => typeof x === "string";
  const isNum = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x > 0;
  const epochOk =
    p.v === 1
      ? p.epoch === undefined && p.carried === undefined
      : p.v === 2 && isNum(p.epoch) && p.epoch < 2 ** 32 && isStr(p.carried) && p.carried.length <= 16 * 1024;
  if (!epochOk || !isStr(p.publicKey) || !Array.isArray(p.entries) || p.entries.length === 0) {
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
  if (p.v === 1) return { epoch: 0, publicKey, entries };
  return {
    epoch: p.epoch as number,
    publicKey,
    entries,
    carried: Buffer.from(p.carried as string, "base64"),
  };
}
