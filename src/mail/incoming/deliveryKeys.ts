/**
 * The keys a home delivers with, without a password (issue 12).
 *
 * - The account's public key is pinned in the home when the account is opened with a password
 *   there (at `init`, when a computer joins, or at the first unlock of a home made before pinning),
 *   after the key root proved it matches the secret key. `deliver` seals to the pinned key only and
 *   refuses when storage's key root names another one: a host that swaps the key in `keys/root`
 *   (or serves a swapped root only to `deliver`) never receives mail sealed to its key. Every later
 *   unlock compares the pin with the unlocked key, so a root replaced as a whole (say, one copied
 *   from another bucket that the same password opens) is refused too.
 * - The home's sender key (X25519) authenticates its deliveries (crypto/senderBox.ts); its public
 *   key is registered in the account (senderRegistry.ts) at the same moments.
 *
 * Where the two keys live is the caller's business (config/deliveryKeyFiles.ts: two 0600 files in
 * the home); this module holds the rules.
 */
import { parseKeyRoot } from "../../crypto/keyRoot.ts";
import { newSenderKeys, senderKeysOf, type SenderKeys } from "../../crypto/senderBox.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { NotFound, RolledBack, Tampered } from "../../errors.ts";
import type { Store } from "../../storage/types.ts";
import type { Account } from "../account.ts";
import { SenderRegistry, SENDERS_ROW, SENDERS_SUBKEY } from "./senderRegistry.ts";

/** The home's copy of the keys. */
export interface HomeDeliveryKeys {
  /** Where they are kept, for messages. */
  readonly where: string;
  /** The pinned public key; undefined when this home has none yet. */
  readPublicKey(): Promise<Uint8Array | undefined>;
  writePublicKey(publicKey: Uint8Array): Promise<void>;
  /** The home's sender secret key; undefined when it has none yet. */
  readSenderKey(): Promise<Uint8Array | undefined>;
  writeSenderKey(secretKey: Uint8Array): Promise<void>;
  /**
   * The newest key epoch this home saw, and whether its rekey was finished then (no earlier epoch
   * carried): a key root that goes back behind it is refused. Homes without it check nothing.
   */
  readKeyEpoch?(): Promise<KeyEpochMark | undefined>;
  writeKeyEpoch?(mark: KeyEpochMark): Promise<void>;
}

export interface KeyEpochMark {
  epoch: number;
  finished: boolean;
}

export function notPinned(where: string): NotFound {
  return new NotFound(
    `this home has not pinned the account's public key yet (${where} is missing: the home was set up by an older version). Nothing was delivered. Open the account once with its password so the key can be pinned: log in with your mail client while \`aerogramme-local start\` runs, or run \`aerogramme-local status --password-stdin\`; then deliver again`,
  );
}

function swapped(where: string): Tampered {
  return new Tampered(
    `the account's public key in storage (keys/root) is not the one this home pinned (${where}): the storage host, or someone who can write to it, replaced it. Nothing was delivered or changed`,
  );
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * After `account` was opened with a password: pin its public key (or check it against the pin),
 * and make sure this home's sender key exists and is registered. `settingUp` (init) replaces
 * whatever an earlier, abandoned set-up left in the home. Tampered when the pin differs.
 */
export async function adoptAccount(
  home: HomeDeliveryKeys,
  account: Account,
  opts: { settingUp?: boolean } = {},
): Promise<void> {
  let pinned = opts.settingUp ? undefined : await home.readPublicKey();
  // A rekey (docs/crypto.md, "Key epochs") gave the account a new key pair. The root that the
  // password just opened lists the keys it retired: one of them pinned here is proof enough.
  if (
    pinned &&
    !same(pinned, account.publicKey) &&
    account.epochs.current.retiredPublicKeys.some((k) => same(k, pinned!))
  ) {
    await home.writePublicKey(account.publicKey);
    pinned = account.publicKey;
  }
  if (!pinned || same(pinned, account.publicKey)) await checkKeyEpoch(home, account, opts.settingUp);
  if (pinned && !same(pinned, account.publicKey))
    throw new Tampered(
      `the account's key root in storage does not hold the public key this home pinned (${home.where}): the storage host replaced keys/root. Nothing was changed; do not trust this storage until checked`,
    );
  const stored = opts.settingUp ? undefined : await home.readSenderKey();
  const sender: SenderKeys = stored ? senderKeysOf(stored) : newSenderKeys();
  // Registered at every unlock: it costs one row read, and it heals a registry the host rolled back.
  // The row's read may have started at login, beside the key root (AccountOptions.readAtLogin).
  await new SenderRegistry(account.store.rows, account.subkey(SENDERS_SUBKEY)).register(
    sender.publicKey,
    account.takeLoginRead(SENDERS_ROW.pk, SENDERS_ROW.sk),
  );
  if (!stored) await home.writeSenderKey(sender.secretKey);
  if (pinned) return;
  // First unlock here: a home from before the record of filed deliveries may find none yet.
  await account.filedDeliveries().ensureExists();
  await home.writePublicKey(account.publicKey);
}

/**
 * Refuses a key root older than the newest this home saw: an earlier epoch (its public key differs
 * from the pin, so that is caught before), or the same epoch still carrying the keys of an earlier
 * one after this home saw the rekey finished. That root would make this computer accept, and a
 * resumed job re-seal as genuine, objects forged under the old key (docs/crypto.md, "Key epochs").
 */
async function checkKeyEpoch(home: HomeDeliveryKeys, account: Account, settingUp = false): Promise<void> {
  if (!home.readKeyEpoch || !home.writeKeyEpoch) return;
  const { epoch, previous } = account.epochs;
  const finished = previous.length === 0;
  const mark = settingUp ? undefined : await home.readKeyEpoch();
  if (mark && (epoch < mark.epoch || (epoch === mark.epoch && mark.finished && !finished))) {
    throw new RolledBack(
      `the key root in storage (keys/root, key epoch ${epoch}${finished ? "" : ", rekey unfinished"}) is older than the one this home saw (key epoch ${mark.epoch}${mark.finished ? ", rekey finished" : ""}): the storage host put back an old copy. Nothing was changed`,
    );
  }
  if (!mark || epoch > mark.epoch || (finished && !mark.finished))
    await home.writeKeyEpoch({ epoch, finished });
}

/**
 * The key `deliver` seals to: the pinned one, once storage's key root is seen to name it too.
 * NotFound when the home has no pin yet; Tampered when storage disagrees or lost the root.
 */
export async function deliveryPublicKey(store: Store, home: HomeDeliveryKeys): Promise<Uint8Array> {
  const pinned = await home.readPublicKey();
  if (!pinned) throw notPinned(home.where);
  await loadSodium();
  const bytes = await store.blobs.get("keys/root");
  if (!bytes)
    throw new Tampered(
      "keys/root is gone from storage, although this home was set up with it: the account was removed or the storage host dropped it",
    );
  if (!same(parseKeyRoot(bytes).publicKey, pinned)) throw swapped(home.where);
  return pinned;
}

/** The home's sender keys, or undefined (its deliveries are then anonymous and filed `$Unverified`). */
export async function homeSender(home: HomeDeliveryKeys): Promise<SenderKeys | undefined> {
  const secret = await home.readSenderKey();
  return secret ? senderKeysOf(secret) : undefined;
}
