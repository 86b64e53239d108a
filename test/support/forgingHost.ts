/**
 * A storage host that forges, replays and swaps (issue 12), over a real Store: it reads and writes every
 * key, keeps copies of what it saw, and may answer one reader differently from another. It knows
 * no password and no secret key; it does know the account's public key (in clear in keys/root).
 */
import { parseKeyRoot, serializeKeyRoot } from "../../src/crypto/keyRoot.ts";
import { newSenderKeys, type SenderKeys } from "../../src/crypto/senderBox.ts";
import { boxKeypair } from "../../src/crypto/sodium.ts";
import { newIncomingKey, sealDelivery, type Delivery } from "../../src/mail/incoming/index.ts";
import type { BlobStore, Store } from "../../src/storage/types.ts";

export class MaliciousHost {
  /** The host's own sender keys: not registered in the account. */
  readonly ownSender: SenderKeys = newSenderKeys();

  constructor(
    readonly store: Store,
    /** Copies of incoming deliveries, kept after the owner deleted them (and across openings). */
    readonly copies = new Map<string, Uint8Array>(),
  ) {}

  /** Keeps a copy of every delivery in the queue now. */
  async copyQueue(): Promise<string[]> {
    const { keys } = await this.store.blobs.list("incoming/");
    for (const key of keys) this.copies.set(key, (await this.store.blobs.get(key))!);
    return keys;
  }

  /** Puts a delivery it copied back under its key. */
  async putBack(key: string): Promise<void> {
    const bytes = this.copies.get(key);
    if (!bytes) throw new Error(`the host kept no copy of ${key}`);
    await this.store.blobs.put(key, bytes);
  }

  /** keys/root with the host's public key in place of the account's (the entries untouched). */
  async swappedRoot(): Promise<Uint8Array> {
    const root = parseKeyRoot((await this.store.blobs.get("keys/root"))!);
    return serializeKeyRoot({ ...root, publicKey: boxKeypair().publicKey });
  }

  async swapPublicKey(): Promise<void> {
    await this.store.blobs.put("keys/root", await this.swappedRoot());
  }

  async accountPublicKey(): Promise<Uint8Array> {
    return parseKeyRoot((await this.store.blobs.get("keys/root"))!).publicKey;
  }

  /**
   * A delivery the host makes itself, sealed to the account's public key: anonymous (the version 1
   * format), or from `sender` (the host's own key unless told otherwise). Returns its key.
   */
  async forge(delivery: Delivery, sender?: SenderKeys): Promise<string> {
    const key = newIncomingKey();
    await this.store.blobs.put(key, sealDelivery(await this.accountPublicKey(), key, delivery, sender));
    return key;
  }

  /** The same store, except that keys/root reads give `root` (an S3 host may answer each reader apart). */
  servingRoot(root: Uint8Array): Store {
    const real = this.store.blobs;
    const blobs: BlobStore = {
      put: (key, bytes) => real.put(key, bytes),
      get: (key, range) => (key === "keys/root" ? Promise.resolve(root) : real.get(key, range)),
      head: (key) => real.head(key),
      delete: (key) => real.delete(key),
      list: (prefix, startAfter, limit) => real.list(prefix, startAfter, limit),
      copy: (from, to) => real.copy(from, to),
    };
    return { blobs, rows: this.store.rows, close: () => this.store.close() };
  }
}
