/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG) of the row log's records. Node has a
 * native one in zlib from 20.15 and 22.2; older Node 20 releases get the table-driven loop below,
 * which gives the same numbers.
 */
import * as zlib from "node:zlib";

type Crc32 = (data: Uint8Array) => number;

const native = (zlib as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** The portable version, exported so that a test can hold it to the native one. */
export function tableCrc32(data: Uint8Array): number {
  const t = (table ??= crcTable());
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const crc32: Crc32 = native ?? tableCrc32;
