/**
 * A UidIndex at rest (the state in a Bayou checkpoint). Encoding 4, written now, is binary and
 * read in one pass without intermediate objects: a 100,000-message mailbox is ~4.5 MB and decodes in a
 * few tens of ms with little garbage. Encodings 3 (no save dates), 2 (no unplaced messages) and 1
 * (JSON) of earlier builds are still read.
 *
 * Encoding 4, big-endian; "u48" and "u56" are 6- and 7-byte unsigned integers (MODSEQs take time
 * floors past 2^48, uidIndex.ts):
 *   u8 4 | u48 uidvalidity | u48 uidnext | u56 highestModseq
 *   u16 F, then F flag lists: u16 count, then count times (u16 length, UTF-8 flag)
 *   u32 N, then N messages in UID order: u16 length, UTF-8 id, u32 uid, u56 modseq, u16 flag list,
 *     u48 save date (ms; 0 when unknown, RFC 8514)
 *   u32 U, then U unplaced messages (uidIndex.ts), each as a message above
 *   u32 V, then V vanished UIDs in MODSEQ order: u32 uid, u56 modseq
 * Encoding 3 is encoding 4 without the save dates; encoding 2 is encoding 3 without U and its
 * messages, with u48 MODSEQs.
 */
import { flagListKey } from "./flagListKey.ts";
import { appendEntry, emptyUidIndex, internFlags, type MailEntry, type UidIndex } from "./uidIndex.ts";

const ENCODING_2 = 2;
const ENCODING_3 = 3;
const ENCODING_4 = 4;
const JSON_OPEN_BRACE = 0x7b;

/**
 * The shown messages are read from the UidIndex's columns by position (shownMessages.ts): an entry
 * object for each of 100,000 messages at once (~150 B each) made every checkpoint and snapshot of a
 * large mailbox a ~15 MB spike (issue 11).
 */
export function encodeUidIndex(state: UidIndex): Uint8Array {
  const shown = state.shown;
  const lists: (readonly string[])[] = [];
  const listIndex = new Map<readonly string[], number>();
  const byKey = new Map<string, number>();
  let size = 1 + 19 + 2 + 4 + 4 + 4 + state.vanished.length * 11;
  const listOf = (flags: readonly string[]) => {
    let list = listIndex.get(flags);
    if (list === undefined) {
      const key = flagListKey(flags);
      list = byKey.get(key);
      if (list === undefined) {
        list = lists.push(flags) - 1;
        byKey.set(key, list);
        for (const f of flags) size += 2 + Buffer.byteLength(f);
        size += 2;
      }
      listIndex.set(flags, list);
    }
    return list;
  };
  const unplaced = [...state.unplaced.values()];
  for (let i = 0; i < shown.size; i++) {
    listOf(shown.flagsAt(i));
    size += 2 + shown.idByteLength(i) + 4 + 7 + 2 + 6;
  }
  for (const entry of unplaced) {
    listOf(entry.flags);
    size += 2 + Buffer.byteLength(entry.id, "utf8") + 4 + 7 + 2 + 6;
  }
  if (lists.length > 0xffff) throw new Error("a mailbox has more than 65535 distinct flag lists");
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt8(ENCODING_4, 0);
  at = out.writeUIntBE(state.uidvalidity, at, 6);
  at = out.writeUIntBE(state.uidnext, at, 6);
  at = writeU56(out, state.highestModseq, at);
  at = out.writeUInt16BE(lists.length, at);
  for (const list of lists) {
    at = out.writeUInt16BE(list.length, at);
    for (const f of list) {
      const n = out.write(f, at + 2, "utf8");
      at = out.writeUInt16BE(n, at) + n;
    }
  }
  const message = (
    id: string | number,
    uid: number,
    modseq: number,
    flags: readonly string[],
    saved: number,
  ) => {
    // A shown message's id is written from the columns by position, without making its string.
    const n = typeof id === "number" ? shown.writeIdAt(id, out, at + 2) : out.write(id, at + 2, "utf8");
    at = out.writeUInt16BE(n, at) + n;
    at = out.writeUInt32BE(uid, at);
    at = writeU56(out, modseq, at);
    at = out.writeUInt16BE(listOf(flags), at);
    at = out.writeUIntBE(saved, at, 6);
  };
  at = out.writeUInt32BE(shown.size, at);
  for (let i = 0; i < shown.size; i++)
    message(i, shown.uids[i]!, shown.modseqAt(i), shown.flagsAt(i), shown.savedAt(i));
  at = out.writeUInt32BE(unplaced.length, at);
  for (const e of unplaced) message(e.id, e.uid, e.modseq, e.flags, e.saved ?? 0);
  at = out.writeUInt32BE(state.vanished.length, at);
  for (const v of state.vanished) {
    at = out.writeUInt32BE(v.uid, at);
    at = writeU56(out, v.modseq, at);
  }
  if (at !== size) throw new Error(`UidIndex encoding wrote ${at} bytes, expected ${size}`);
  return out;
}

export function decodeUidIndex(bytes: Uint8Array): UidIndex {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf[0] === JSON_OPEN_BRACE) return decodeEncoding1(buf);
  const encoding = buf[0]!;
  if (encoding !== ENCODING_2 && encoding !== ENCODING_3 && encoding !== ENCODING_4) {
    throw new Error(`unknown UidIndex encoding ${String(encoding)}`);
  }
  try {
    return decodeBinary(buf, encoding >= ENCODING_3, encoding >= ENCODING_4);
  } catch (err) {
    if (err instanceof RangeError) throw new Error("a UidIndex encoding is cut short");
    throw err;
  }
}

function decodeBinary(buf: Buffer, withUnplaced: boolean, withSaveDates: boolean): UidIndex {
  let at = 1;
  const u16 = () => ((at += 2), buf.readUInt16BE(at - 2));
  const u32 = () => ((at += 4), buf.readUInt32BE(at - 4));
  const u48 = () => ((at += 6), buf.readUIntBE(at - 6, 6));
  const modseqOf = withUnplaced
    ? () => ((at += 7), buf.readUInt8(at - 7) * 2 ** 48 + buf.readUIntBE(at - 6, 6))
    : u48;
  const text = (n: number) => {
    if (at + n > buf.length) throw new RangeError("past the end");
    return buf.toString("utf8", at, (at += n));
  };
  const state = emptyUidIndex(u48());
  state.uidnext = u48();
  state.highestModseq = modseqOf();
  const lists: string[][] = [];
  for (let f = u16(); f > 0; f--) {
    const list: string[] = [];
    for (let n = u16(); n > 0; n--) list.push(text(u16()));
    lists.push(internFlags(list));
  }
  const entry = (): MailEntry => {
    const id = text(u16());
    const uid = u32();
    const modseq = modseqOf();
    const flags = lists[u16()];
    if (!flags) throw new Error("a UidIndex entry names a flag list that is not there");
    const saved = withSaveDates ? u48() : 0;
    return saved > 0 ? { id, uid, modseq, flags, saved } : { id, uid, modseq, flags };
  };
  const count = u32();
  // Into the columns in one loop, without an entry or an id string per message.
  const refs = Uint32Array.from(lists, (list) => state.shown.flagRefFor(list));
  at = state.shown.appendFromEncoding(buf, at, count, refs, withUnplaced, withSaveDates);
  if (withUnplaced) {
    for (let n = u32(); n > 0; n--) {
      const e = entry();
      state.unplaced.set(e.id, e);
    }
  }
  for (let n = u32(); n > 0; n--) addVanished(state, u32(), modseqOf());
  if (at !== buf.length) throw new Error("a UidIndex encoding has bytes past its end");
  return state;
}

interface Encoding1 {
  v: 1;
  uidvalidity: number;
  uidnext: number;
  highestModseq: number;
  /** [id, uid, modseq, flags] in UID order. */
  mails: [string, number, number, string[]][];
  /** Flat [uid, modseq, uid, modseq, ...]. */
  vanished: number[];
}

function decodeEncoding1(buf: Buffer): UidIndex {
  const encoded = JSON.parse(buf.toString("utf8")) as Encoding1;
  if (encoded.v !== 1) throw new Error(`unknown UidIndex encoding version ${String(encoded.v)}`);
  const state = emptyUidIndex(encoded.uidvalidity);
  state.uidnext = encoded.uidnext;
  state.highestModseq = encoded.highestModseq;
  for (const [id, uid, modseq, flags] of encoded.mails) {
    appendEntry(state, { id, uid, modseq, flags: internFlags(flags) });
  }
  for (let i = 0; i + 1 < encoded.vanished.length; i += 2) {
    addVanished(state, encoded.vanished[i]!, encoded.vanished[i + 1]!);
  }
  return state;
}

function addVanished(state: UidIndex, uid: number, modseq: number): void {
  state.vanished.push({ uid, modseq });
  state.vanishedUids.add(uid);
}

function writeU56(out: Buffer, value: number, at: number): number {
  const high = Math.floor(value / 2 ** 48);
  return out.writeUIntBE(value - high * 2 ** 48, out.writeUInt8(high, at), 6);
}
