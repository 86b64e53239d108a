/**
 * The bytes of a message's meta (before sealing). Three encodings are read; the third is written:
 *
 * - 1: UTF-8 JSON of the whole MessageMeta (the first byte is "{").
 * - 2: 0x02 | u32 n | n bytes of JSON {internalDate, size, physicalSize, key, blob, sealedFor,
 *      inRow?}
 *      | u32 h | h bytes of the header block (latin1) | JSON of the MessageIndex without its header.
 * - 3: as 2 with 0x03 first and the last part (the tail) compressed with raw DEFLATE.
 *
 * Encoding 2 exists for speed: a client's message list (FETCH of sizes and header fields) and
 * header SEARCH need only the small part and the header block, so the MIME tree and ENVELOPE are
 * parsed only when a command asks for them. Parsing the whole JSON was the largest cost of listing
 * 10,000 messages.
 *
 * Encoding 3 exists for a second computer's first sync (issue 11): the tail was 60 % of a row on
 * the bench corpus (1.3 kB of 2.2 kB) and compresses to 43 %, which moves half the rows from the
 * 4 KiB bucket to the 2 KiB one, so a cold message list reads a third fewer bytes from the host
 * (bench/notes.md). The list never inflates it: only what parses the tree pays (~20-30 us a row).
 * What compressing before sealing tells the host: docs/crypto.md, "Size buckets".
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { MessageIndex } from "../mime/index.ts";

/** A message as its sealed meta row holds it (DESIGN.md §4); messageStore.ts reads and writes it. */
export interface MessageMeta {
  v: 1;
  internalDate: number;
  size: number;
  /** Bytes of the stored (CRLF) message; equals `index.physicalSize`. */
  physicalSize: number;
  /** The top-level header block (latin1): the message list and header SEARCH need only this. */
  header: string;
  /** MIME tree, ENVELOPE and offsets; parsed on first use when read from storage (decodeMeta). */
  index: MessageIndex;
  /** The message key, base64. */
  key: string;
  /** Blob holding the sealed body, or, with `inRow`, the name whose id is its body row's. */
  blob: string;
  /** The path the body was sealed for (the blob of the first copy): its associated data. */
  sealedFor: string;
  /**
   * The sealed body is in row `body`/<id of blob> (messageLayout.ts), not in the blob. Sealed with
   * the rest, so the host cannot send a reader to the other place. Absent in metas before it.
   */
  inRow?: true;
}

const ENCODING_2 = 2;
const ENCODING_3 = 3;
/**
 * A tail is a few kB: a 4 KiB window and small tables are enough (any raw inflate reads it). zlib's
 * defaults allocate ~270 kB per call, each table past the server's malloc mmap threshold (bin/,
 * 64 KiB), so every APPEND's meta mapped, faulted and zeroed them anew: 0.03 ms a call here
 * against 0.014 ms (bench/notes.md, wt-append session 16).
 */
const TAIL_DEFLATE = { windowBits: 12, memLevel: 5 } as const;

interface EagerPart {
  internalDate: number;
  size: number;
  physicalSize: number;
  key: string;
  blob: string;
  sealedFor: string;
  inRow?: true;
}

export function encodeMeta(meta: MessageMeta): Uint8Array {
  const eager: EagerPart = {
    internalDate: meta.internalDate,
    size: meta.size,
    physicalSize: meta.physicalSize,
    key: meta.key,
    blob: meta.blob,
    sealedFor: meta.sealedFor,
    // Only when set: a blob's meta is the bytes it was before body rows.
    ...(meta.inRow ? { inRow: true as const } : {}),
  };
  const { header, ...rest } = meta.index;
  const first = Buffer.from(JSON.stringify(eager), "utf8");
  const head = Buffer.from(header, "latin1");
  const tail = deflateRawSync(Buffer.from(JSON.stringify(rest), "utf8"), TAIL_DEFLATE);
  const out = Buffer.allocUnsafe(1 + 4 + first.length + 4 + head.length + tail.length);
  let at = out.writeUInt8(ENCODING_3, 0);
  at = out.writeUInt32BE(first.length, at);
  at += first.copy(out, at);
  at = out.writeUInt32BE(head.length, at);
  at += head.copy(out, at);
  tail.copy(out, at);
  return out;
}

/** Throws on bytes that are in none of the encodings (the caller reports which message). */
export function decodeMeta(bytes: Uint8Array): MessageMeta {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const encoding = buf[0];
  if (encoding !== ENCODING_2 && encoding !== ENCODING_3)
    return fromEncoding1(JSON.parse(buf.toString("utf8")) as MessageMeta);
  const n = buf.readUInt32BE(1);
  const eager = JSON.parse(buf.toString("utf8", 5, 5 + n)) as EagerPart;
  const h = buf.readUInt32BE(5 + n);
  if (9 + n + h > buf.length) throw new Error("meta is cut short");
  const header = buf.toString("latin1", 9 + n, 9 + n + h);
  // A copy: a view would keep the whole plaintext alive for as long as the meta is cached.
  const tail = Buffer.from(buf.subarray(9 + n + h));
  let index: MessageIndex | undefined;
  const meta = { v: 1, ...eager, header } as MessageMeta;
  Object.defineProperty(meta, "index", {
    enumerable: true,
    get(): MessageIndex {
      if (index) return index;
      const json = encoding === ENCODING_3 ? inflateRawSync(tail) : tail;
      index = { ...(JSON.parse(json.toString("utf8")) as Omit<MessageIndex, "header">), header };
      return index;
    },
  });
  return meta;
}

/** Encoding 1 had no top-level header or physical size: they are taken from the index. */
function fromEncoding1(meta: MessageMeta): MessageMeta {
  return { ...meta, header: meta.index.header, physicalSize: meta.index.physicalSize };
}
