/**
 * A map from ids (sort keys of 32 lowercase hex digits: every message's meta row is keyed by its
 * 16 random bytes in hex) to values, with the ids as bytes in one typed array instead of a string
 * each. An open-addressing table with linear probing: the ids are random, so their first bytes
 * hash well enough on their own, mixed all the same so that counted ids do not cluster.
 *
 * At 100,000 rows a Map keyed by the hex strings held ~8.5 MB (100,000 strings of 48 B and the
 * Map's entries, issue 11's heap snapshot); this holds 16 B per slot in an array buffer and 8 B per
 * slot in the values' array, 3 MB at up to 80% full.
 */

export const ID_HEX = 32;
const ID_BYTES = 16;
const MAX_LOAD = 0.8;

/** A hex digit's value, or -1 for anything but 0-9 and a-f (upper case is not an id: order). */
function hexValue(unit: number): number {
  if (unit >= 48 && unit <= 57) return unit - 48;
  if (unit >= 97 && unit <= 102) return unit - 87;
  return -1;
}

/** Writes the id spelled by `key` into `out`; false when `key` is not 32 lowercase hex digits. */
export function decodeId(key: string, out: Uint8Array): boolean {
  if (key.length !== ID_HEX) return false;
  for (let i = 0; i < ID_BYTES; i++) {
    const hi = hexValue(key.charCodeAt(2 * i));
    const lo = hexValue(key.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    out[i] = (hi << 4) | lo;
  }
  return true;
}

export class IdTable<V> {
  private ids: Uint8Array;
  private values: (V | undefined)[];
  private mask: number;
  /** 32 less the capacity's bits: the hash's top bits are the well-mixed ones. */
  private shift: number;
  size = 0;

  constructor(capacity = 16) {
    this.ids = new Uint8Array(capacity * ID_BYTES);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
  }

  /** The slot holding `id`, or -1. */
  find(id: Uint8Array): number {
    for (let slot = this.home(id, 0); ; slot = (slot + 1) & this.mask) {
      if (this.values[slot] === undefined) return -1;
      if (this.holds(slot, id)) return slot;
    }
  }

  get(id: Uint8Array): V | undefined {
    const slot = this.find(id);
    return slot < 0 ? undefined : this.values[slot];
  }

  /**
   * Sets `id`'s value; returns its slot and whether the id is new. Slots of other ids stay where
   * they were unless the table grew (`grew`).
   */
  set(id: Uint8Array, value: V): { slot: number; added: boolean; grew: boolean } {
    let grew = false;
    if ((this.size + 1) / (this.mask + 1) > MAX_LOAD && this.find(id) < 0) {
      this.grow();
      grew = true;
    }
    let slot = this.home(id, 0);
    for (; this.values[slot] !== undefined; slot = (slot + 1) & this.mask) {
      if (this.holds(slot, id)) {
        this.values[slot] = value;
        return { slot, added: false, grew };
      }
    }
    this.ids.set(id, slot * ID_BYTES);
    this.values[slot] = value;
    this.size++;
    return { slot, added: true, grew };
  }

  /** Removes `id`; true if it was there. Other ids may move to other slots. */
  delete(id: Uint8Array): boolean {
    let gap = this.find(id);
    if (gap < 0) return false;
    // Backward shift: every id after the gap in its run that may sit in the gap moves there, so
    // that a lookup never stops at an empty slot before its id.
    for (let slot = (gap + 1) & this.mask; this.values[slot] !== undefined; slot = (slot + 1) & this.mask) {
      const home = this.home(this.ids, slot * ID_BYTES);
      // Movable when its home is not in (gap, slot] going round the table.
      if (((slot - home) & this.mask) >= ((slot - gap) & this.mask)) {
        this.ids.copyWithin(gap * ID_BYTES, slot * ID_BYTES, (slot + 1) * ID_BYTES);
        this.values[gap] = this.values[slot];
        gap = slot;
      }
    }
    this.values[gap] = undefined;
    this.size--;
    return true;
  }

  valueAt(slot: number): V | undefined {
    return this.values[slot];
  }

  /** The id in `slot` as its 32 hex digits. */
  keyAt(slot: number): string {
    return Buffer.from(this.ids.buffer, this.ids.byteOffset + slot * ID_BYTES, ID_BYTES).toString("hex");
  }

  /** Occupied slots, in table order. */
  *slots(): Generator<number> {
    for (let slot = 0; slot <= this.mask; slot++) if (this.values[slot] !== undefined) yield slot;
  }

  /**
   * Doubles the table. Ids are placed from the old bytes by offset: a view per id (~100 B each)
   * was ~10 MB of garbage each time a 100,000-row partition grew while the log was replayed.
   */
  private grow(): void {
    const { ids, values } = this;
    const capacity = (this.mask + 1) * 2;
    this.ids = new Uint8Array(capacity * ID_BYTES);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.shift--;
    for (let from = 0; from < values.length; from++) {
      if (values[from] === undefined) continue;
      let slot = this.home(ids, from * ID_BYTES);
      while (this.values[slot] !== undefined) slot = (slot + 1) & this.mask;
      for (let k = 0; k < ID_BYTES; k++) this.ids[slot * ID_BYTES + k] = ids[from * ID_BYTES + k]!;
      this.values[slot] = values[from];
    }
  }

  /** The slot an id starting at `at` in `bytes` hashes to. */
  private home(bytes: Uint8Array, at: number): number {
    const word =
      (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) ^
      (bytes[at + 12]! | (bytes[at + 13]! << 8) | (bytes[at + 14]! << 16) | (bytes[at + 15]! << 24));
    return Math.imul(word, 0x9e3779b1) >>> this.shift;
  }

  private holds(slot: number, id: Uint8Array): boolean {
    const base = slot * ID_BYTES;
    for (let k = 0; k < ID_BYTES; k++) if (this.ids[base + k] !== id[k]) return false;
    return true;
  }
}
