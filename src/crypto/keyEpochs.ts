/**
 * The master keys of an unlocked account, one per key epoch (docs/crypto.md, "Key epochs"), and
 * the key rings (aead.ts KeyRing) that seal and open each purpose's objects with them.
 *
 * New objects are sealed under the current epoch. An object names the epoch that sealed it, so it
 * is opened with that epoch's key, if this computer holds it:
 * - an earlier epoch no longer held: the object is StaleEpoch, a kind of Tampered (a rekey
 *   re-sealed everything before dropping it, so only a host, a stale writer or a local copy made
 *   before the rekey can hold it);
 * - a later epoch: another computer rekeyed the account. This one learns it now and stops
 *   writing (every later seal throws `Rekeyed`), so that nothing new goes under the old key;
 *   a new unlock with the password gives it the new keys.
 *
 * The rings are live: `advance` (this computer rekeyed) and `dropPrevious` (its job finished)
 * change what every ring seals and opens at once, for every store that holds one.
 */
import { Rekeyed, StaleEpoch } from "../errors.ts";
import type { KeyRing } from "./aead.ts";
import { wipe } from "./aead.ts";
import { deriveSubkey, wipeKeys, type EpochKeys, type UnlockedKeys } from "./keyRoot.ts";

export class KeyEpochs {
  private keys: UnlockedKeys;
  /** Subkeys already derived, by purpose then epoch. */
  private readonly derived = new Map<string, Map<number, Uint8Array>>();
  private newerSeen: number | undefined;

  constructor(keys: UnlockedKeys) {
    this.keys = keys;
  }

  get current(): UnlockedKeys {
    return this.keys;
  }

  get epoch(): number {
    return this.keys.epoch;
  }

  /** Epochs held besides the current one, newest first. */
  get previous(): readonly EpochKeys[] {
    return this.keys.previous;
  }

  /** The later epoch another computer moved to, once an object sealed under it was seen. */
  get supersededBy(): number | undefined {
    return this.newerSeen;
  }

  /** The keys of `purpose` in every epoch held. */
  ring(purpose: string): KeyRing {
    return {
      sealingKey: () => {
        if (this.newerSeen !== undefined) throw this.rekeyed();
        return { epoch: this.keys.epoch, key: this.subkey(purpose, this.keys.epoch)! };
      },
      openingKey: (epoch, where) => {
        const key = this.subkey(purpose, epoch);
        if (key) return key;
        if (epoch > this.keys.epoch) {
          this.newerSeen = Math.max(this.newerSeen ?? 0, epoch);
          throw this.rekeyed();
        }
        throw new StaleEpoch(
          `${where}: sealed under key epoch ${epoch}, which this account dropped after re-sealing everything (a copy from before the rekey, put back by the host, or written by a computer that had not seen the rekey)`,
        );
      },
    };
  }

  /** The subkey of `purpose` in `epoch`, or undefined when that epoch is not held. */
  subkey(purpose: string, epoch: number): Uint8Array | undefined {
    const master =
      epoch === this.keys.epoch
        ? this.keys.masterKey
        : this.keys.previous.find((p) => p.epoch === epoch)?.masterKey;
    if (!master) return undefined;
    let byEpoch = this.derived.get(purpose);
    if (!byEpoch) this.derived.set(purpose, (byEpoch = new Map<number, Uint8Array>()));
    let key = byEpoch.get(epoch);
    if (!key) byEpoch.set(epoch, (key = deriveSubkey(master, purpose)));
    return key;
  }

  /** This computer made a new epoch (keyRoot.ts rekeyKeyRoot): seal under it from now on. */
  advance(next: UnlockedKeys): void {
    if (next.epoch <= this.keys.epoch) throw new Error("key epochs: advance to an older epoch");
    const old = this.keys;
    this.keys = next;
    // The old epoch lives on in next.previous (its own copies); these buffers are no longer used.
    wipeKeys({
      ...old,
      previous: old.previous.filter((p) => !next.previous.some((q) => q.epoch === p.epoch)),
    });
    this.forgetDerived((epoch) => epoch === old.epoch || !this.holds(epoch));
    if (this.newerSeen !== undefined && this.newerSeen <= next.epoch) this.newerSeen = undefined;
  }

  /** Everything under the earlier epochs was re-sealed: forget their keys. */
  dropPrevious(): void {
    for (const p of this.keys.previous) wipeKeys(p);
    this.keys = { ...this.keys, previous: [] };
    this.forgetDerived((epoch) => epoch !== this.keys.epoch);
  }

  wipe(): void {
    wipeKeys(this.keys);
    this.forgetDerived(() => true);
  }

  private holds(epoch: number): boolean {
    return epoch === this.keys.epoch || this.keys.previous.some((p) => p.epoch === epoch);
  }

  private forgetDerived(which: (epoch: number) => boolean): void {
    for (const byEpoch of this.derived.values()) {
      for (const [epoch, key] of byEpoch) {
        if (!which(epoch)) continue;
        wipe(key);
        byEpoch.delete(epoch);
      }
    }
  }

  private rekeyed(): Rekeyed {
    return new Rekeyed(
      `the account was rekeyed on another computer (key epoch ${this.newerSeen}, this one holds ${this.keys.epoch}): log in again with the password to get the new key`,
    );
  }
}
