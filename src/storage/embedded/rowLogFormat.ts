/**
 * The bytes of the row log: a fixed header, then records appended one after another.
 *
 *   record = bodyLength u32 | crc32(body) u32 | body
 *   body   = kind u8 (1 value, 2 tombstone) | counter u48 | seen u48 | dot u48
 *            | pkLength u16 | pk | skLength u16 | sk | value (the rest of the body)
 *
 * Replaying a record on a row: drop the siblings whose dot <= seen, add (dot, value), raise the row
 * counter to `counter`. An ordinary write has counter = dot = previous counter + 1 and seen = the
 * token's counter; compaction copies surviving records verbatim, which replays to the same rows.
 * All integers are big-endian. The CRC finds a torn tail after a crash.
 */
import { crc32 } from "./crc32.ts";
import { Invalid, TooBig } from "../../errors.ts";

export const logMagic = Buffer.from("aerogramme-local row log v1\n", "latin1");

export const recordHeaderBytes = 8;
const fixedBodyBytes = 1 + 6 + 6 + 6 + 2 + 2;
/** Values are sealed meta and op batches: kilobytes. A bound keeps a corrupt length from allocating GBs. */
export const maxRecordBytes = 64 << 20;

export interface LogRecord {
  pk: string;
  sk: string;
  counter: number;
  seen: number;
  dot: number;
  /** null for a tombstone. */
  value: Uint8Array | null;
}

/** Where a record's parts sit, relative to the record's first byte. */
export interface RecordShape {
  recordLength: number;
  valueOffset: number;
  valueLength: number;
  tombstone: boolean;
}

export function encodeRecord(r: LogRecord): Buffer {
  const pk = Buffer.from(r.pk, "utf8");
  const sk = Buffer.from(r.sk, "utf8");
  if (pk.toString("utf8") !== r.pk || sk.toString("utf8") !== r.sk) {
    throw new Invalid("partition and sort keys must be well-formed Unicode");
  }
  if (pk.length > 0xffff || sk.length > 0xffff)
    throw new Invalid("a partition or sort key exceeds 65535 bytes");
  const valueLength = r.value?.length ?? 0;
  const bodyLength = fixedBodyBytes + pk.length + sk.length + valueLength;
  if (recordHeaderBytes + bodyLength > maxRecordBytes) {
    throw new TooBig(
      `a row value of ${valueLength} bytes exceeds the embedded store's ${maxRecordBytes >> 20} MiB`,
    );
  }
  const out = Buffer.allocUnsafe(recordHeaderBytes + bodyLength);
  let at = recordHeaderBytes;
  at = out.writeUInt8(r.value === null ? 2 : 1, at);
  at = out.writeUIntBE(r.counter, at, 6);
  at = out.writeUIntBE(r.seen, at, 6);
  at = out.writeUIntBE(r.dot, at, 6);
  at = out.writeUInt16BE(pk.length, at);
  at += pk.copy(out, at);
  at = out.writeUInt16BE(sk.length, at);
  at += sk.copy(out, at);
  if (r.value) out.set(r.value, at);
  out.writeUInt32BE(bodyLength, 0);
  out.writeUInt32BE(crc32(out.subarray(recordHeaderBytes)), 4);
  return out;
}

/** Length of the record starting at `at` (header included), or undefined if the header is cut. */
export function recordLengthAt(buf: Buffer, at: number): number | undefined {
  if (buf.length - at < recordHeaderBytes) return undefined;
  return recordHeaderBytes + buf.readUInt32BE(at);
}

/**
 * Decodes the whole record at `buf[at..]` without copying its value, or returns undefined when it
 * is not a valid record (wrong CRC, impossible lengths, unknown kind): the log ends there.
 */
export function decodeRecordAt(
  buf: Buffer,
  at: number,
): (Omit<LogRecord, "value"> & RecordShape) | undefined {
  const recordLength = recordLengthAt(buf, at);
  if (recordLength === undefined || recordLength > maxRecordBytes || at + recordLength > buf.length) {
    return undefined;
  }
  const bodyLength = recordLength - recordHeaderBytes;
  if (bodyLength < fixedBodyBytes) return undefined;
  const body = buf.subarray(at + recordHeaderBytes, at + recordLength);
  if (crc32(body) !== buf.readUInt32BE(at + 4)) return undefined;
  const kind = body.readUInt8(0);
  if (kind !== 1 && kind !== 2) return undefined;
  const counter = body.readUIntBE(1, 6);
  const seen = body.readUIntBE(7, 6);
  const dot = body.readUIntBE(13, 6);
  const pkLength = body.readUInt16BE(19);
  if (21 + pkLength + 2 > bodyLength) return undefined;
  const pk = body.toString("utf8", 21, 21 + pkLength);
  const skLength = body.readUInt16BE(21 + pkLength);
  const skStart = 23 + pkLength;
  if (skStart + skLength > bodyLength) return undefined;
  const sk = body.toString("utf8", skStart, skStart + skLength);
  const valueStart = skStart + skLength;
  const tombstone = kind === 2;
  if (tombstone && valueStart !== bodyLength) return undefined;
  return {
    pk,
    sk,
    counter,
    seen,
    dot,
    recordLength,
    valueOffset: recordHeaderBytes + valueStart,
    valueLength: bodyLength - valueStart,
    tombstone,
  };
}

/** The shape of an encoded record (for a record made by encodeRecord). */
export function shapeOf(encoded: Buffer, tombstone: boolean): RecordShape {
  const pkLength = encoded.readUInt16BE(recordHeaderBytes + 19);
  const skLength = encoded.readUInt16BE(recordHeaderBytes + 21 + pkLength);
  const valueOffset = recordHeaderBytes + 23 + pkLength + skLength;
  return { recordLength: encoded.length, valueOffset, valueLength: encoded.length - valueOffset, tombstone };
}
