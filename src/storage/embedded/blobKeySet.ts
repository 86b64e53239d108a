/**
 * The blob folder's keys, in UTF-8 byte order (compareKeys), held compactly. A key that ends in 32
 * lowercase hex digits (every message body is `mail/<16 random bytes in hex>`) is kept as those 16
 * bytes in a sorted byte array shared by the keys of its prefix, not as a string of its own; other
 * keys stay strings in a sorted array. At 100,000 messages the keys as strings in one sorted array
 * took 6.4 MB of live heap (issue 11's heap snapshot: 100,500 strings of 56 B and the array); as
 * bytes they take 1.6-2.4 MB (the byte array grows by half again).
 *
 * Hex digits are ASCII and sort as the bytes they spell, so within a prefix the order of the bytes
 * is the order of the keys; listing merges the prefixes' runs and the strings by full key.
 */
import { compareKeys, lowerBound, upperBound } from "../rowSemantics.ts";

const ID_HEX = 32;
const ID_BYTES = 16;

/** The sorted 16-byte ids of the keys of one prefix. */
class IdRun {
  private bytes = new Uint8Array(ID_BYTES * 16);
  count = 0;

  constructor(readonly prefix: string) {}

  /**
   * A run of `count` ids in any order, packed in `bytes`: sorted through an index (no object per
   * id; a Buffer per id made ~10 MB of garbage at once when 100,000 keys were read at open).
   */
  static fromUnsorted(prefix: string, bytes: Uint8Array, count: number): IdRun {
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    order.sort((x, y) => compareIds(bytes, x * ID_BYTES, bytes, y * ID_BYTES));
    const run = new IdRun(prefix);
    run.bytes = new Uint8Array(Math.max(16, count) * ID_BYTES);
    for (const i of order) {
      const from = i * ID_BYTES;
      const to = run.count * ID_BYTES;
      // Duplicates are not expected (keys come from file names); kept out all the same.
      if (run.count > 0 && compareIds(run.bytes, to - ID_BYTES, bytes, from) === 0) continue;
      for (let k = 0; k < ID_BYTES; k++) run.bytes[to + k] = bytes[from + k]!;
      run.count++;
    }
    return run;
  }

  /** First position whose id is >= `id` (or > with `after`). */
  search(id: Uint8Array, after = false): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareAt(mid, id);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose full key is >= `key` (or > with `after`). */
  searchKey(key: string, after: boolean): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(this.keyAt(mid), key);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(id: Uint8Array): boolean {
    const at = this.search(id);
    return at < this.count && this.compareAt(at, id) === 0;
  }

  keyAt(i: number): string {
    const from = i * ID_BYTES;
    return this.prefix + Buffer.from(this.bytes.buffer, from, ID_BYTES).toString("hex");
  }

  insert(at: number, id: Uint8Array): void {
    if ((this.count + 1) * ID_BYTES > this.bytes.length) {
      const grown = new Uint8Array(Math.ceil((this.bytes.length * 1.5) / ID_BYTES) * ID_BYTES);
      grown.set(this.bytes.subarray(0, this.count * ID_BYTES));
      this.bytes = grown;
    }
    this.bytes.copyWithin((at + 1) * ID_BYTES, at * ID_BYTES, this.count * ID_BYTES);
    this.bytes.set(id, at * ID_BYTES);
    this.count++;
  }

  removeAt(at: number): void {
    this.bytes.copyWithin(at * ID_BYTES, (at + 1) * ID_BYTES, this.count * ID_BYTES);
    this.count--;
  }

  private compareAt(i: number, id: Uint8Array): number {
    return compareIds(this.bytes, i * ID_BYTES, id, 0);
  }
}

/** Byte order of the 16-byte ids at `aAt` in `a` and `bAt` in `b`. */
function compareIds(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): number {
  for (let k = 0; k < ID_BYTES; k++) {
    const d = a[aAt + k]! - b[bAt + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Where a key's id begins (its last 32 characters, if lowercase hex), or -1. Allocates nothing. */
function idStart(key: string): number {
  const start = key.length - ID_HEX;
  if (start < 0) return -1;
  for (let i = start; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return -1;
  }
  return start;
}

/** Writes the 16 bytes spelled from `start` in `key` (checked by idStart) into `out` at `at`. */
function decodeIdAt(key: string, start: number, out: Uint8Array, at: number): void {
  const digit = (c: number) => (c <= 57 ? c - 48 : c - 87);
  for (let k = 0; k < ID_BYTES; k++)
    out[at + k] = (digit(key.charCodeAt(start + 2 * k)) << 4) | digit(key.charCodeAt(start + 2 * k + 1));
}

/** Keys in order from one sorted source, those that start with a prefix. */
interface Cursor {
  key: string | undefined;
  advance(): void;
}

export class BlobKeySet {
  private readonly runs = new Map<string, IdRun>();
  /** Keys that do not end in an id, sorted. */
  private others: string[] = [];

  /** The id of the key last looked at (has, add, delete). */
  private readonly id = new Uint8Array(ID_BYTES);

  /** A set of `keys` (in any order). */
  static of(keys: readonly string[]): BlobKeySet {
    const set = new BlobKeySet();
    const byPrefix = new Map<string, { bytes: Uint8Array; count: number }>();
    let lastPrefix = "";
    for (const key of keys) {
      const start = idStart(key);
      if (start < 0) {
        set.others.push(key);
        continue;
      }
      // Nearly every key has the prefix of the one before (`mail/`): no new string for it.
      if (start !== lastPrefix.length || !key.startsWith(lastPrefix)) lastPrefix = key.slice(0, start);
      const prefix = lastPrefix;
      let ids = byPrefix.get(prefix);
      // The first prefix (nearly every key's) gets room for all at once: no copies left as garbage.
      const room = byPrefix.size === 0 ? keys.length : 16;
      if (!ids) byPrefix.set(prefix, (ids = { bytes: new Uint8Array(room * ID_BYTES), count: 0 }));
      if ((ids.count + 1) * ID_BYTES > ids.bytes.length) {
        const grown = new Uint8Array(ids.bytes.length * 2);
        grown.set(ids.bytes);
        ids.bytes = grown;
      }
      decodeIdAt(key, start, ids.bytes, ids.count * ID_BYTES);
      ids.count++;
    }
    // Duplicates are not expected (keys come from file names); kept out all the same.
    set.others = set.others.sort(compareKeys).filter((k, i, all) => k !== all[i - 1]);
    for (const [prefix, ids] of byPrefix)
      set.runs.set(prefix, IdRun.fromUnsorted(prefix, ids.bytes, ids.count));
    return set;
  }

  has(key: string): boolean {
    const start = idStart(key);
    if (start < 0) return this.others[lowerBound(this.others, key)] === key;
    decodeIdAt(key, start, this.id, 0);
    return this.runs.get(key.slice(0, start))?.has(this.id) ?? false;
  }

  add(key: string): void {
    const start = idStart(key);
    if (start < 0) {
      const at = lowerBound(this.others, key);
      if (this.others[at] !== key) this.others.splice(at, 0, key);
      return;
    }
    const prefix = key.slice(0, start);
    let run = this.runs.get(prefix);
    if (!run) this.runs.set(prefix, (run = new IdRun(prefix)));
    decodeIdAt(key, start, this.id, 0);
    const at = run.search(this.id);
    if (at >= run.count || !run.has(this.id)) run.insert(at, this.id);
  }

  delete(key: string): void {
    const start = idStart(key);
    if (start < 0) {
      const at = lowerBound(this.others, key);
      if (this.others[at] === key) this.others.splice(at, 1);
      return;
    }
    const prefix = key.slice(0, start);
    const run = this.runs.get(prefix);
    decodeIdAt(key, start, this.id, 0);
    if (!run?.has(this.id)) return;
    run.removeAt(run.search(this.id));
    if (run.count === 0) this.runs.delete(prefix);
  }

  /**
   * Keys that start with `prefix`, in order, after `startAfter` when given (BlobStore.list): at
   * most `limit`, with `nextStartAfter` set when more remain.
   */
  list(prefix: string, startAfter?: string, limit?: number): { keys: string[]; nextStartAfter?: string } {
    const after = startAfter !== undefined && compareKeys(startAfter, prefix) >= 0;
    const bound = after ? startAfter : prefix;
    const cursors: Cursor[] = [];
    for (const run of this.runs.values()) {
      // A run may hold such keys only if its prefix and `prefix` agree as far as both go.
      if (!run.prefix.startsWith(prefix) && !prefix.startsWith(run.prefix)) continue;
      let at = run.searchKey(bound, after);
      const cursor: Cursor = {
        key: undefined,
        advance() {
          const key = at < run.count ? run.keyAt(at++) : undefined;
          this.key = key?.startsWith(prefix) ? key : undefined;
        },
      };
      cursor.advance();
      cursors.push(cursor);
    }
    let at = after ? upperBound(this.others, bound) : lowerBound(this.others, bound);
    const others = this.others;
    const strings: Cursor = {
      key: undefined,
      advance() {
        const key = others[at++];
        this.key = key?.startsWith(prefix) ? key : undefined;
      },
    };
    strings.advance();
    cursors.push(strings);

    const keys: string[] = [];
    for (;;) {
      let first: Cursor | undefined;
      for (const c of cursors)
        if (c.key !== undefined && (!first || compareKeys(c.key, first.key!) < 0)) first = c;
      if (!first) return { keys };
      if (limit !== undefined && keys.length >= limit) {
        return keys.length > 0 ? { keys, nextStartAfter: keys[keys.length - 1] } : { keys };
      }
      keys.push(first.key!);
      first.advance();
    }
  }
}
