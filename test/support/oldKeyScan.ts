/**
 * What an attacker holding an old key epoch's keys (an old copy of `keys/root` and its password)
 * can open in storage as it is now: every sealed object the account writes, tried with the old
 * subkey of its purpose whatever epoch it names, and every queued delivery with the old secret key.
 */
import { open, type KeyRing, type SealContext } from "../../src/crypto/aead.ts";
import { deriveSubkey, type EpochKeys } from "../../src/crypto/keyRoot.ts";
import { openSealedBox } from "../../src/crypto/sealedBox.ts";
import { checkpointContext } from "../../src/sync/checkpoint.ts";
import { FILED_ROW } from "../../src/mail/incoming/filedDeliveries.ts";
import { LEASE_ROW } from "../../src/mail/incoming/moverLease.ts";
import { SENDERS_ROW } from "../../src/mail/incoming/senderRegistry.ts";
import { metaContext } from "../../src/mail/messageStore.ts";
import type { Store } from "../../src/storage/types.ts";

export interface ScanResult {
  /** Objects looked at. */
  checked: number;
  /** Keys of those the old keys open. */
  opened: string[];
}

export async function oldKeyScan(store: Store, old: EpochKeys, mailboxIds: string[]): Promise<ScanResult> {
  const result: ScanResult = { checked: 0, opened: [] };
  const ringOf = (purpose: string): KeyRing => {
    const key = deriveSubkey(old.masterKey, purpose);
    return { sealingKey: () => ({ epoch: 0, key }), openingKey: () => key };
  };
  const tryOpen = (name: string, purpose: string, value: Uint8Array, ctx: SealContext) => {
    result.checked++;
    try {
      open(ringOf(purpose), value, ctx);
      result.opened.push(name);
    } catch {
      // does not open: what a rekey is for
    }
  };
  const rowsOf = async (pk: string) => (await store.rows.readRange(pk, {})).items;
  for (const row of await rowsOf("mailboxes"))
    for (const v of row.values)
      tryOpen("mailboxes/list", "mailbox-list", v, { purpose: "mailbox-list", path: "mailboxes/list" });
  for (const row of await rowsOf("meta"))
    for (const v of row.values) tryOpen(`meta/${row.sk}`, "message-meta", v, metaContext(row.sk));
  for (const spec of [FILED_ROW, SENDERS_ROW, LEASE_ROW]) {
    const row = await store.rows.read(spec.pk, spec.sk);
    for (const v of row?.values ?? []) tryOpen(`${spec.pk}/${spec.sk}`, spec.subkey, v, spec.context);
  }
  for (const id of mailboxIds) {
    for (const row of await rowsOf(`index/${id}`)) {
      if (row.sk === "watch") continue;
      for (const v of row.values)
        tryOpen(`index/${id}/${row.sk}`, "uid-index", v, {
          purpose: "bayou-op",
          path: `index/${id}/${row.sk}`,
        });
    }
    for (const key of (await store.blobs.list(`index/${id}/checkpoint/`)).keys)
      tryOpen(key, "uid-index", (await store.blobs.get(key))!, checkpointContext(key));
  }
  for (const key of (await store.blobs.list("incoming/")).keys) {
    const head = (await store.blobs.get(key, { start: 0, end: 152 }))!;
    result.checked++;
    try {
      openSealedBox(old, head.subarray(1, head[0] === 1 ? 81 : 153));
      result.opened.push(key);
    } catch {
      // sealed to another key
    }
  }
  return result;
}
