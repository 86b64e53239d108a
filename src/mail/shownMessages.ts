/**
 * The messages a UidIndex shows, in UID order, kept as columns of typed arrays rather than one object
 * per message: with 100,000 messages an object per message (its id string, two boxed numbers, a Map
 * entry by id) cost ~200 bytes a message; these columns cost ~50 (measured by
 * bench/uidIndexBytes.ts, bench/notes.md). Position i (0-based) is sequence number i + 1.
 *
 * - `uids`: a plain array (callers slice and spread it; small integers are stored unboxed).
 * - MODSEQ and save date: Float64Array (MODSEQs pass 2^48, uidIndex.ts; 0 is "no save date").
 * - flags: a small int into this mailbox's table of distinct flag lists (a handful in practice).
 * - ids: one byte arena; a 32-hex-digit id (mail/ids.ts) takes its 16 bytes, any other its UTF-8.
 * - by id: an open-addressing table of positions, rebuilt when positions shift (a removal or an
 *   insertion below the highest UID, each already O(n) for the arrays).
 *
 * `get` makes a fresh MailEntry each time: a snapshot, never a live view, and changing it changes
 * nothing here (uidIndex.ts changes the columns through the setters).
 */
import { flagListKey } from "./flagListKey.ts";
import type { MailEntry } from "./uidIndex.ts";

/** `idLength` of an id kept as 16 bytes decoded from 32 hex digits. */
const PACKED_HEX = 0xffff;
const EMPTY_SLOT = 0;
/** "0123456789abcdef" as bytes: the lower-case hex an id was decoded from. */
const HEX_DIGITS = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

export class ShownMessages {
  readonly uids: number[] = [];
  private modseqs = new Float64Array(16);
  private saved = new Float64Array(16);
  private flagRefs: Uint16Array | Uint32Array = new Uint16Array(16);
  private idStart = new Uint32Array(16);
  private idLength = new Uint16Array(16);
  private arena = Buffer.alloc(256);
  private arenaUsed = 0;
  /** Bytes of `arena` no position points to any more (removed messages): compacted past half. */
  private arenaDead = 0;
  private readonly flagLists: (readonly string[])[] = [];
  private readonly flagListIndex = new Map<readonly string[], number>();
  private readonly flagListByKey = new Map<string, number>();
  /** Position + 1 per slot, 0 when empty; its size a power of two at least twice the count. */
  private table = new Int32Array(32);
  private readonly scratch = Buffer.alloc(16);

  /** Bumped whenever a message comes or goes (positions and ids then change): keys caches. */
  private changes = 0;
  /** Bumped when a message comes below the highest UID (not an append): see `insertsBelow`. */
  private below = 0;

  get size(): number {
    return this.uids.length;
  }

  /** Changes at every insert and removal: what was worked out from positions or ids holds until then. */
  get version(): number {
    return this.changes;
  }

  /**
   * Changes only when a message is inserted below the highest UID. Until it does, the messages
   * that came since a moment are exactly those above the highest UID of that moment (UIDs only
   * grow): a cache can take them in without working everything out again (searchPlaces.ts).
   */
  get insertsBelow(): number {
    return this.below;
  }

  /** The position of an id, or -1. */
  indexOfId(id: string): number {
    const key = this.keyOf(id);
    const mask = this.table.length - 1;
    for (let slot = hashBytes(key) & mask; ; slot = (slot + 1) & mask) {
      const at = this.table[slot]!;
      if (at === EMPTY_SLOT) return -1;
      if (this.idEquals(at - 1, key)) return at - 1;
    }
  }

  /** The entry at a position (a fresh object). */
  get(i: number): MailEntry {
    const entry: MailEntry = {
      id: this.idAt(i),
      uid: this.uids[i]!,
      modseq: this.modseqs[i]!,
      flags: this.flagsAt(i) as string[],
    };
    const saved = this.saved[i]!;
    if (saved !== 0) entry.saved = saved;
    return entry;
  }

  idAt(i: number): string {
    const start = this.idStart[i]!;
    const length = this.idLength[i]!;
    return length === PACKED_HEX
      ? this.arena.toString("hex", start, start + 16)
      : this.arena.toString("utf8", start, start + length);
  }

  /**
   * Writes the id at a position in UTF-8 into `out` at `at` and returns its byte count (as
   * idByteLength), without making its string: encoding a 100,000-message checkpoint or snapshot
   * (uidIndexCodec.ts) made ~5 MB of hex strings each time, twice per write to a large mailbox.
   */
  writeIdAt(i: number, out: Uint8Array, at: number): number {
    const start = this.idStart[i]!;
    const length = this.idLength[i]!;
    if (length !== PACKED_HEX) {
      out.set(this.arena.subarray(start, start + length), at);
      return length;
    }
    const arena = this.arena;
    for (let k = 0; k < 16; k++) {
      const byte = arena[start + k]!;
      out[at + 2 * k] = HEX_DIGITS[byte >> 4]!;
      out[at + 2 * k + 1] = HEX_DIGITS[byte & 15]!;
    }
    return 32;
  }

  /** The bytes of the id at a position in UTF-8 (what encoding it takes), without making it. */
  idByteLength(i: number): number {
    return this.idLength[i] === PACKED_HEX ? 32 : this.idLength[i]!;
  }

  /** RFC 8514 save date (ms) at a position; 0 when not known. */
  savedAt(i: number): number {
    return this.saved[i]!;
  }

  flagsAt(i: number): readonly string[] {
    return this.flagLists[this.flagRefs[i]!]!;
  }

  /**
   * The distinct flag lists some message holds now, each once, in the UID order of the first
   * message holding it (a list no message holds any more is left out): what a session announces
   * at SELECT, without an entry made per message.
   */
  flagListsInUse(): (readonly string[])[] {
    const met = new Uint8Array(this.flagLists.length);
    const lists: (readonly string[])[] = [];
    for (let i = 0; i < this.uids.length; i++) {
      const ref = this.flagRefs[i]!;
      if (met[ref] === 1) continue;
      met[ref] = 1;
      lists.push(this.flagLists[ref]!);
    }
    return lists;
  }

  modseqAt(i: number): number {
    return this.modseqs[i]!;
  }

  /**
   * The positions whose MODSEQ is at or below `modseq`, ascending: one pass over the column, not a
   * call per message (a mailbox's first sync looks at 10,000, in code not yet optimised).
   */
  positionsUpTo(modseq: number): number[] {
    const found: number[] = [];
    const modseqs = this.modseqs;
    for (let i = 0, n = this.uids.length; i < n; i++) if (modseqs[i]! <= modseq) found.push(i);
    return found;
  }

  setModseq(i: number, modseq: number): void {
    this.modseqs[i] = modseq;
  }

  /** `flags` is an interned list (uidIndex.ts internFlags): lists are told apart by identity first. */
  setFlags(i: number, flags: readonly string[]): void {
    const ref = this.flagRef(flags); // first: it may widen `flagRefs`
    this.flagRefs[i] = ref;
  }

  /** Inserts at position `i` (`size` appends); the caller keeps `uids` ascending. */
  insert(i: number, entry: MailEntry): void {
    const n = this.uids.length;
    this.changes++;
    if (i < n) this.below++;
    this.reserve(n + 1);
    if (i < n) {
      for (const column of this.columns()) column.copyWithin(i + 1, i, n);
    }
    if (i === n) this.uids.push(entry.uid);
    else this.uids.splice(i, 0, entry.uid);
    this.modseqs[i] = entry.modseq;
    this.saved[i] = entry.saved !== undefined && Number.isFinite(entry.saved) ? entry.saved : 0;
    const ref = this.flagRef(entry.flags); // first: it may widen `flagRefs`
    this.flagRefs[i] = ref;
    this.storeId(i, entry.id);
    if (i < n) this.rebuildTable();
    else this.tableInsert(i);
  }

  /**
   * Appends `count` messages read straight from `buf` at `at`, laid out as a UidIndex encoding holds
   * its messages (uidIndexCodec.ts): u16 id length, the id's UTF-8, u32 UID, MODSEQ (u48, or u56
   * when `modseq56`), u16 flag list, then a u48 save date when `withSaveDates`. `refs[k]` is the
   * flag list k of the encoding as this table's ref (`flagRefFor`). UIDs must come ascending and
   * above every UID here. Returns the offset after the last message; throws a RangeError past the
   * end of `buf`. One loop writing the columns, the table by id built once after: the first SELECT
   * of a process decodes its 10,000-message snapshot in code not yet optimised, where a few calls
   * per message (id packing, arena copy, table insert) cost 30-60 ms against ~5 warm.
   */
  appendFromEncoding(
    buf: Uint8Array,
    at: number,
    count: number,
    refs: Uint32Array,
    modseq56: boolean,
    withSaveDates: boolean,
  ): number {
    const fixed = 4 + (modseq56 ? 7 : 6) + 2 + (withSaveDates ? 6 : 0);
    const end = buf.length;
    // No more than the bytes left could hold (a forged count must not reserve gigabytes).
    const first = this.uids.length;
    this.reserve(first + Math.min(count, Math.floor((end - at) / (2 + fixed))));
    const uids = this.uids;
    let arena = this.arena;
    let used = this.arenaUsed;
    for (let n = 0; n < count; n++) {
      if (at + 2 > end) throw new RangeError("past the end");
      const idLength = (buf[at]! << 8) | buf[at + 1]!;
      const id = at + 2;
      at = id + idLength;
      if (at + fixed > end) throw new RangeError("past the end");
      const i = first + n;
      if (i >= this.modseqs.length) this.reserve(i + 1);
      uids.push(((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0);
      at += 4;
      let modseq = 0;
      if (modseq56) modseq = buf[at++]! * 2 ** 48;
      modseq += ((buf[at]! << 8) | buf[at + 1]!) * 2 ** 32;
      modseq += ((buf[at + 2]! << 24) | (buf[at + 3]! << 16) | (buf[at + 4]! << 8) | buf[at + 5]!) >>> 0;
      this.modseqs[i] = modseq;
      at += 6;
      const list = (buf[at]! << 8) | buf[at + 1]!;
      at += 2;
      if (list >= refs.length) throw new Error("a UidIndex entry names a flag list that is not there");
      this.flagRefs[i] = refs[list]!;
      let saved = 0;
      if (withSaveDates) {
        saved = ((buf[at]! << 8) | buf[at + 1]!) * 2 ** 32;
        saved += ((buf[at + 2]! << 24) | (buf[at + 3]! << 16) | (buf[at + 4]! << 8) | buf[at + 5]!) >>> 0;
        at += 6;
      }
      this.saved[i] = saved;
      // The id: its 16 bytes for 32 lower-case hex digits, else its UTF-8 as a string gives it back.
      let bytes: Uint8Array | undefined;
      let length = 16;
      if (idLength !== 32 || !hexRangePacks(buf, id)) {
        bytes = Buffer.from(Buffer.from(buf.buffer, buf.byteOffset + id, idLength).toString("utf8"), "utf8");
        length = bytes.length;
        if (length >= PACKED_HEX) throw new Error("a message id is too long");
      }
      if (used + length > arena.length) {
        const next = Buffer.alloc(
          Math.max(used + length, Math.ceil(arena.length * 1.5), used + 16 * (count - n)),
        );
        arena.copy(next, 0, 0, used);
        arena = next;
      }
      this.idStart[i] = used;
      if (bytes === undefined) {
        for (let k = 0; k < 16; k++)
          arena[used + k] = (hexValue(buf[id + 2 * k]!) << 4) | hexValue(buf[id + 2 * k + 1]!);
        this.idLength[i] = PACKED_HEX;
      } else {
        arena.set(bytes, used);
        this.idLength[i] = length;
      }
      used += length;
    }
    this.arena = arena;
    this.arenaUsed = used;
    if (count > 0) this.changes++;
    this.rebuildTable();
    return at;
  }

  /** The ref `appendFromEncoding` takes for a flag list (interned: uidIndex.ts internFlags). */
  flagRefFor(flags: readonly string[]): number {
    return this.flagRef(flags);
  }

  /** Keeps the messages whose UID `keep` answers true for, in one pass. Whether any went. */
  retain(keep: (uid: number) => boolean): boolean {
    const n = this.uids.length;
    const columns = [...this.columns()];
    let to = 0;
    for (let from = 0; from < n; from++) {
      const uid = this.uids[from]!;
      if (!keep(uid)) {
        this.arenaDead += this.idLength[from] === PACKED_HEX ? 16 : this.idLength[from]!;
        continue;
      }
      if (to !== from) {
        this.uids[to] = uid;
        for (const column of columns) column[to] = column[from]!;
      }
      to++;
    }
    if (to === n) return false;
    this.changes++;
    this.uids.length = to;
    if (this.arenaDead > this.arenaUsed / 2) this.compactArena();
    this.rebuildTable();
    return true;
  }

  removeAt(i: number): void {
    const uid = this.uids[i];
    this.retain((u) => u !== uid);
  }

  private *columns(): Generator<Float64Array | Uint16Array | Uint32Array> {
    yield this.modseqs;
    yield this.saved;
    yield this.flagRefs;
    yield this.idStart;
    yield this.idLength;
  }

  private reserve(count: number): void {
    if (count <= this.modseqs.length) return;
    const capacity = Math.max(count, Math.ceil(this.modseqs.length * 1.5));
    this.modseqs = grown(this.modseqs, new Float64Array(capacity));
    this.saved = grown(this.saved, new Float64Array(capacity));
    this.flagRefs = grown(
      this.flagRefs,
      this.flagRefs instanceof Uint16Array ? new Uint16Array(capacity) : new Uint32Array(capacity),
    );
    this.idStart = grown(this.idStart, new Uint32Array(capacity));
    this.idLength = grown(this.idLength, new Uint16Array(capacity));
  }

  private flagRef(flags: readonly string[]): number {
    let ref = this.flagListIndex.get(flags);
    if (ref !== undefined) return ref;
    const key = flagListKey(flags);
    ref = this.flagListByKey.get(key);
    if (ref === undefined) {
      ref = this.flagLists.push(Object.isFrozen(flags) ? flags : Object.freeze([...flags])) - 1;
      this.flagListByKey.set(key, ref);
    }
    // Only interned (frozen) lists by identity: any other array would be a new key every time.
    if (Object.isFrozen(flags)) this.flagListIndex.set(flags, ref);
    // A mailbox with more than 65,535 distinct flag lists: wider refs from then on.
    if (ref > 0xffff && this.flagRefs instanceof Uint16Array) this.flagRefs = Uint32Array.from(this.flagRefs);
    return ref;
  }

  /** The bytes an id is kept as: its 16 bytes for 32 hex digits (in `scratch`), else its UTF-8. */
  private keyOf(id: string): Buffer {
    if (id.length === 32 && packHex(id, this.scratch)) return this.scratch;
    return Buffer.from(id, "utf8");
  }

  private storeId(i: number, id: string): void {
    this.storeKey(i, this.keyOf(id));
  }

  /** `key` as keyOf makes it: `scratch` for a packed hex id. */
  private storeKey(i: number, key: Buffer): void {
    if (key !== this.scratch && key.length >= PACKED_HEX) throw new Error("a message id is too long");
    if (this.arenaUsed + key.length > this.arena.length) {
      const next = Buffer.alloc(Math.max(this.arenaUsed + key.length, Math.ceil(this.arena.length * 1.5)));
      this.arena.copy(next, 0, 0, this.arenaUsed);
      this.arena = next;
    }
    key.copy(this.arena, this.arenaUsed);
    this.idStart[i] = this.arenaUsed;
    this.idLength[i] = key === this.scratch ? PACKED_HEX : key.length;
    this.arenaUsed += key.length;
  }

  private idEquals(i: number, key: Buffer): boolean {
    const length = this.idLength[i] === PACKED_HEX ? 16 : this.idLength[i]!;
    const packed = this.idLength[i] === PACKED_HEX;
    if (length !== key.length || packed !== (key === this.scratch)) return false;
    // A loop, not Buffer.compare: a lookup compares 16 bytes, and the native call cost more than
    // that (SEARCH looks up every id of the index's files once per file and mailbox, searchPlaces.ts).
    const start = this.idStart[i]!;
    const arena = this.arena;
    for (let k = 0; k < length; k++) if (arena[start + k] !== key[k]) return false;
    return true;
  }

  private idBytes(i: number): Buffer {
    const start = this.idStart[i]!;
    const length = this.idLength[i] === PACKED_HEX ? 16 : this.idLength[i]!;
    return this.arena.subarray(start, start + length);
  }

  private compactArena(): void {
    const next = Buffer.alloc(Math.max(256, this.arenaUsed - this.arenaDead));
    let used = 0;
    for (let i = 0; i < this.uids.length; i++) {
      const bytes = this.idBytes(i);
      bytes.copy(next, used);
      this.idStart[i] = used;
      used += bytes.length;
    }
    this.arena = next;
    this.arenaUsed = used;
    this.arenaDead = 0;
  }

  private tableInsert(i: number): void {
    if ((this.uids.length + 1) * 2 > this.table.length) {
      this.rebuildTable();
      return;
    }
    this.place(i);
  }

  private place(i: number): void {
    const mask = this.table.length - 1;
    const start = this.idStart[i]!;
    const length = this.idLength[i] === PACKED_HEX ? 16 : this.idLength[i]!;
    let slot = hashRange(this.arena, start, start + length) & mask;
    while (this.table[slot] !== EMPTY_SLOT) slot = (slot + 1) & mask;
    this.table[slot] = i + 1;
  }

  private rebuildTable(): void {
    let size = 32;
    while (size < (this.uids.length + 1) * 2) size *= 2;
    if (size !== this.table.length) this.table = new Int32Array(size);
    else this.table.fill(EMPTY_SLOT);
    for (let i = 0; i < this.uids.length; i++) this.place(i);
  }
}

function grown<T extends Float64Array | Uint16Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * Writes the 16 bytes of 32 lower-case hex digits into `out`; false (out then undefined) for any
 * other character. What a regex test and Buffer.write(hex) did, in one pass without a native call.
 */
function packHex(id: string, out: Buffer): boolean {
  for (let k = 0; k < 16; k++) {
    const hi = hexDigit(id.charCodeAt(2 * k));
    const lo = hexDigit(id.charCodeAt(2 * k + 1));
    if (hi < 0 || lo < 0) return false;
    out[k] = (hi << 4) | lo;
  }
  return true;
}

/** Whether the 32 bytes at `from` are lower-case hex digits (what packHex accepts of a string). */
function hexRangePacks(bytes: Uint8Array, from: number): boolean {
  for (let k = from; k < from + 32; k++) if (hexDigit(bytes[k]!) < 0) return false;
  return true;
}

/** A lower-case hex digit's value (hexRangePacks checked it). */
function hexValue(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/** FNV-1a over the bytes. */
function hashBytes(bytes: Uint8Array): number {
  return hashRange(bytes, 0, bytes.length);
}

/** FNV-1a over bytes[from, to): the table hashes ids in the arena without a view of each. */
function hashRange(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
