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
const idTail = /^[0-9a-f]{32}$/;

/** The sorted 16-byte ids of the keys of one prefix. */
class IdRun {
  private bytes = new Uint8Array(ID_BYTES * 16);
  count = 0;

  constructor(readonly prefix: string) {}

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
    const base = i * ID_BYTES;
    for (let k = 0; k < ID_BYTES; k++) {
      const d = this.bytes[base + k]! - id[k]!;
      if (d !== 0) return d;
    }
    return 0;
  }
}

/** A key split into its prefix and id when it ends in 32 lowercase hex digits. */
function split(key: string): { prefix: string; id: Uint8Array } | undefined {
  if (key.length < ID_HEX) return undefined;
  const tail = key.slice(key.length - ID_HEX);
  if (!idTail.test(tail)) return undefined;
  return { prefix: key.slice(0, key.length - ID_HEX), id: Buffer.from(tail, "hex") };
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

  /** A set of `keys` (in any order). */
  static of(keys: Iterable<string>): BlobKeySet {
    const set = new BlobKeySet();
    const byPrefix = new Map<string, Uint8Array[]>();
    for (const key of keys) {
      const parts = split(key);
      if (!parts) set.others.push(key);
      else {
        let ids = byPrefix.get(parts.prefix);
        if (!ids) byPrefix.set(parts.prefix, (ids = []));
        ids.push(parts.id);
      }
    }
    // Duplicates are not expected (keys come from file names); kept out all the same.
    set.others = set.others.sort(compareKeys).filter((k, i, all) => k !== all[i - 1]);
    for (const [prefix, ids] of byPrefix) {
      ids.sort((a, b) => Buffer.compare(a, b));
      const run = new IdRun(prefix);
      for (const id of ids) {
        if (run.count === 0 || !run.has(id)) run.insert(run.count, id);
      }
      set.runs.set(prefix, run);
    }
    return set;
  }

  has(key: string): boolean {
    const parts = split(key);
    if (!parts) return this.others[lowerBound(this.others, key)] === key;
    return this.runs.get(parts.prefix)?.has(parts.id) ?? false;
  }

  add(key: string): void {
    const parts = split(key);
    if (!parts) {
      const at = lowerBound(this.others, key);
      if (this.others[at] !== key) this.others.splice(at, 0, key);
      return;
    }
    let run = this.runs.get(parts.prefix);
    if (!run) this.runs.set(parts.prefix, (run = new IdRun(parts.prefix)));
    const at = run.search(parts.id);
    if (at >= run.count || !run.has(parts.id)) run.insert(at, parts.id);
  }

  delete(key: string): void {
    const parts = split(key);
    if (!parts) {
      const at = lowerBound(this.others, key);
      if (this.others[at] === key) this.others.splice(at, 1);
      return;
    }
    const run = this.runs.get(parts.prefix);
    if (!run?.has(parts.id)) return;
    run.removeAt(run.search(parts.id));
    if (run.count === 0) this.runs.delete(parts.prefix);
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
