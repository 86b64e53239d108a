/**
 * The key root's side of a rekey (docs/crypto.md, "Key epochs"): `beginRekey` writes a root with a
 * new key epoch (the previous one carried) and moves the account's rings to it, so everything the
 * account writes from then on is sealed under the new keys; `endRekey` writes the root without the
 * previous epoch once the re-seal job found nothing left under it.
 */
import { parseKeyRoot, rekeyKeyRoot, serializeKeyRoot, withoutPreviousEpochs } from "../../crypto/keyRoot.ts";
import type { KdfParams } from "../../crypto/passwordKey.ts";
import { Conflict, NotFound } from "../../errors.ts";
import type { Store } from "../../storage/types.ts";
import type { Account } from "../account.ts";

const KEY_ROOT = "keys/root";

async function readRoot(store: Store) {
  const bytes = await store.blobs.get(KEY_ROOT);
  if (!bytes) throw new NotFound("this storage holds no account");
  return parseKeyRoot(bytes);
}

/**
 * A new key epoch for `account`, sealed for `password` alone (or `newPassword`: a rekey that also
 * changes the password). Conflict when the root in storage is
 * not the one the account was opened with (another computer rekeyed) or a rekey is unfinished.
 */
export async function beginRekey(
  account: Account,
  password: string,
  opts: { kdf?: KdfParams; newPassword?: string } = {},
): Promise<void> {
  const root = await readRoot(account.store);
  if (root.epoch !== account.epochs.epoch) {
    throw new Conflict(
      `the key root is at key epoch ${root.epoch}, this server holds ${account.epochs.epoch}: another computer rekeyed the account; log in again first`,
    );
  }
  const { root: next, keys } = await rekeyKeyRoot(root, password, opts.kdf, opts.newPassword);
  await account.store.blobs.put(KEY_ROOT, serializeKeyRoot(next));
  account.epochs.advance(keys);
}

/** Drops the previous epochs from the root and from the account (the job re-sealed everything). */
export async function endRekey(account: Account): Promise<void> {
  const root = await readRoot(account.store);
  await account.store.blobs.put(
    KEY_ROOT,
    serializeKeyRoot(withoutPreviousEpochs(root, account.epochs.current)),
  );
  account.epochs.dropPrevious();
}
