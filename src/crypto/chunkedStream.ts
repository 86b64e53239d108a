/**
 * Message bodies, sealed in fixed 64 KiB chunks with random access: the STREAM construction on
 * XChaCha20-Poly1305. DESIGN.md names crypto_secretstream, but its state chains each chunk's MAC
 * into the next chunk's nonce, so chunk k cannot be opened without every chunk before it; a ranged
 * FETCH must open only the chunks it needs (docs/architecture.md, "Departures").
 *
 * Layout: header (HEADER_BYTES) | chunk 0 | chunk 1 | ... ; every chunk but the last holds
 * CHUNK_BYTES of plaintext, each sealed chunk is its plaintext + 16 bytes of MAC.
 * Header: version(1) | context tag(8) | stream nonce(16) | plaintext length (8, big-endian).
 * Chunk i: nonce = stream nonce || i (8 bytes, big-endian); associated data = the object's context
 * (aead.ts) || header || i || last-chunk flag. So a reordered, dropped, swapped or cut chunk, a
 * changed header, and a body moved to another place all fail to open.
 *
 * The stored plaintext is padded with zeros to a size bucket (paddedLength) so the host learns only
 * the bucket, not the exact size; the true length is in the authenticated header.
 */
import { Invalid, Tampered, Truncated, WrongContext } from "../errors.ts";
import { associatedData, type SealContext } from "./aead.ts";
import { BUCKET_STEP, bucketSize } from "./padding.ts";
import { aeadDecryptInto, aeadEncrypt, equalBytes, genericHash, randomBytes } from "./sodium.ts";

const VERSION = 1;
const TAG_BYTES = 8;
const STREAM_NONCE_BYTES = 16;
export const CHUNK_BYTES = BUCKET_STEP;
const MAC_BYTES = 16;
export const STREAM_HEADER_BYTES = 1 + TAG_BYTES + STREAM_NONCE_BYTES + 8;

export interface StreamHeader {
  bytes: Uint8Array;
  nonce: Uint8Array;
  /** True plaintext length. */
  length: number;
  /** Plaintext length after padding: what the chunks hold. */
  padded: number;
}

/**
 * The padded plaintext length of a body: its bucket (padding.ts, the same buckets as every sealed
 * object; above 64 KiB a bucket is a whole number of chunks).
 */
export function paddedLength(n: number): number {
  return bucketSize(n);
}

function chunkCount(padded: number): number {
  return Math.max(1, Math.ceil(padded / CHUNK_BYTES));
}

function contextTag(ad: Uint8Array): Uint8Array {
  return genericHash(TAG_BYTES, ad);
}

function chunkNonce(streamNonce: Uint8Array, index: number): Uint8Array {
  const nonce = new Uint8Array(24);
  nonce.set(streamNonce, 0);
  new DataView(nonce.buffer).setBigUint64(16, BigInt(index));
  return nonce;
}

function chunkAd(ctxAd: Uint8Array, header: Uint8Array, index: number, last: boolean): Uint8Array {
  const ad = new Uint8Array(ctxAd.length + header.length + 9);
  ad.set(ctxAd, 0);
  ad.set(header, ctxAd.length);
  new DataView(ad.buffer).setBigUint64(ctxAd.length + header.length, BigInt(index));
  ad[ad.length - 1] = last ? 1 : 0;
  return ad;
}

function makeHeader(ctxAd: Uint8Array, length: number): StreamHeader {
  const bytes = new Uint8Array(STREAM_HEADER_BYTES);
  const nonce = randomBytes(STREAM_NONCE_BYTES);
  bytes[0] = VERSION;
  bytes.set(contextTag(ctxAd), 1);
  bytes.set(nonce, 1 + TAG_BYTES);
  new DataView(bytes.buffer).setBigUint64(1 + TAG_BYTES + STREAM_NONCE_BYTES, BigInt(length));
  return { bytes, nonce, length, padded: paddedLength(length) };
}

/** Reads and checks a stream header (the first STREAM_HEADER_BYTES of a sealed body). */
export function parseStreamHeader(_key: Uint8Array, headerBytes: Uint8Array, ctx: SealContext): StreamHeader {
  const where = `${ctx.purpose} at ${ctx.path}`;
  if (headerBytes.length < STREAM_HEADER_BYTES)
    throw new Truncated(`${where}: the stream header is cut short`);
  const bytes = headerBytes.slice(0, STREAM_HEADER_BYTES);
  if (bytes[0] !== VERSION) throw new Tampered(`${where}: not a sealed stream of a known version`);
  if (!equalBytes(bytes.subarray(1, 1 + TAG_BYTES), contextTag(associatedData(ctx)))) {
    throw new WrongContext(`${where}: the body was sealed for another place (moved or swapped)`);
  }
  const length = Number(new DataView(bytes.buffer).getBigUint64(1 + TAG_BYTES + STREAM_NONCE_BYTES));
  if (!Number.isSafeInteger(length)) throw new Tampered(`${where}: impossible length in the stream header`);
  return {
    bytes,
    nonce: bytes.slice(1 + TAG_BYTES, 1 + TAG_BYTES + STREAM_NONCE_BYTES),
    length,
    padded: paddedLength(length),
  };
}

/** Size of the sealed object for a plaintext of `length` bytes. */
export function sealedSize(length: number): number {
  const padded = paddedLength(length);
  return STREAM_HEADER_BYTES + padded + chunkCount(padded) * MAC_BYTES;
}

function sealChunk(
  key: Uint8Array,
  ctxAd: Uint8Array,
  header: StreamHeader,
  index: number,
  plain: Uint8Array,
) {
  const last = index === chunkCount(header.padded) - 1;
  return aeadEncrypt(plain, chunkAd(ctxAd, header.bytes, index, last), chunkNonce(header.nonce, index), key);
}

/** The padded plaintext bytes of chunk `index` taken from `plaintext` (zeros past its end). */
function paddedChunk(plaintext: Uint8Array, padded: number, index: number): Uint8Array {
  const start = index * CHUNK_BYTES;
  const end = Math.min(padded, start + CHUNK_BYTES);
  const out = new Uint8Array(end - start);
  out.set(plaintext.subarray(Math.min(start, plaintext.length), Math.min(end, plaintext.length)));
  return out;
}

export function sealStream(key: Uint8Array, plaintext: Uint8Array, ctx: SealContext): Uint8Array {
  const ctxAd = associatedData(ctx);
  const header = makeHeader(ctxAd, plaintext.length);
  const out = new Uint8Array(sealedSize(plaintext.length));
  out.set(header.bytes, 0);
  let pos = STREAM_HEADER_BYTES;
  for (let i = 0; i < chunkCount(header.padded); i++) {
    const sealed = sealChunk(key, ctxAd, header, i, paddedChunk(plaintext, header.padded, i));
    out.set(sealed, pos);
    pos += sealed.length;
  }
  return out;
}

/**
 * Seals a large body read from `source` (exactly `length` bytes) chunk by chunk: the header, then
 * each sealed chunk. Memory stays at one chunk.
 */
export async function* sealChunks(
  key: Uint8Array,
  ctx: SealContext,
  length: number,
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const ctxAd = associatedData(ctx);
  const header = makeHeader(ctxAd, length);
  yield header.bytes;
  let index = 0;
  let pending = new Uint8Array(0);
  let seen = 0;
  for await (const piece of source) {
    seen += piece.length;
    if (seen > length) throw new Invalid(`body longer than the ${length} bytes announced`);
    const joined = new Uint8Array(pending.length + piece.length);
    joined.set(pending);
    joined.set(piece, pending.length);
    pending = joined;
    while (pending.length >= CHUNK_BYTES && (index + 1) * CHUNK_BYTES < header.padded) {
      yield sealChunk(key, ctxAd, header, index++, pending.subarray(0, CHUNK_BYTES));
      pending = pending.slice(CHUNK_BYTES);
    }
  }
  if (seen !== length) throw new Invalid(`body shorter (${seen}) than the ${length} bytes announced`);
  const total = chunkCount(header.padded);
  for (; index < total; index++) {
    const size = Math.min(CHUNK_BYTES, header.padded - index * CHUNK_BYTES);
    const plain = new Uint8Array(size);
    plain.set(pending.subarray(0, Math.min(size, pending.length)));
    pending = pending.subarray(Math.min(size, pending.length));
    yield sealChunk(key, ctxAd, header, index, plain);
  }
}

function openChunks(
  key: Uint8Array,
  header: StreamHeader,
  ctx: SealContext,
  cipher: Uint8Array,
  firstIndex: number,
): Uint8Array {
  const where = `${ctx.purpose} at ${ctx.path}`;
  const ctxAd = associatedData(ctx);
  const total = chunkCount(header.padded);
  // Each chunk is opened straight into its place in the result: no buffer per chunk, no copy of
  // them all at the end (in a warm FETCH of 200 bodies, that copy and its allocations took about
  // as long as the decryption itself).
  const sealedChunk = CHUNK_BYTES + MAC_BYTES;
  const whole = Math.floor(cipher.length / sealedChunk);
  const rest = cipher.length - whole * sealedChunk;
  const plain = new Uint8Array(whole * CHUNK_BYTES + Math.max(0, rest - MAC_BYTES));
  let pos = 0;
  let p = 0;
  let index = firstIndex;
  while (pos < cipher.length) {
    if (index >= total) throw new Tampered(`${where}: more chunks than the header announces`);
    const plainSize = Math.min(CHUNK_BYTES, header.padded - index * CHUNK_BYTES);
    const sealedPart = cipher.subarray(pos, pos + plainSize + MAC_BYTES);
    if (sealedPart.length < plainSize + MAC_BYTES)
      throw new Truncated(`${where}: chunk ${index} is cut short`);
    try {
      aeadDecryptInto(
        plain.subarray(p, p + plainSize),
        sealedPart,
        chunkAd(ctxAd, header.bytes, index, index === total - 1),
        chunkNonce(header.nonce, index),
        key,
      );
    } catch {
      throw new Tampered(
        `${where}: chunk ${index} failed authentication (changed, reordered or from another body)`,
      );
    }
    pos += sealedPart.length;
    p += plainSize;
    index++;
  }
  return plain.subarray(0, p);
}

export function openStream(key: Uint8Array, sealed: Uint8Array, ctx: SealContext): Uint8Array {
  const header = parseStreamHeader(key, sealed, ctx);
  const expected = sealedSize(header.length);
  if (sealed.length < expected) {
    // Open what is there first: a changed chunk is Tampered even when the object is also short.
    const whole = Math.floor((sealed.length - STREAM_HEADER_BYTES) / (CHUNK_BYTES + MAC_BYTES));
    openChunks(
      key,
      header,
      ctx,
      sealed.subarray(STREAM_HEADER_BYTES, STREAM_HEADER_BYTES + whole * (CHUNK_BYTES + MAC_BYTES)),
      0,
    );
    throw new Truncated(`${ctx.purpose} at ${ctx.path}: the body ends before its final chunk`);
  }
  if (sealed.length > expected)
    throw new Tampered(`${ctx.purpose} at ${ctx.path}: bytes after the final chunk`);
  return openChunks(key, header, ctx, sealed.subarray(STREAM_HEADER_BYTES), 0).subarray(0, header.length);
}

/** The inclusive byte range of the sealed object holding plaintext [offset, offset+length). */
export function cipherRangeFor(
  header: StreamHeader,
  offset: number,
  length: number,
): { start: number; end: number } {
  if (offset < 0 || length <= 0 || offset + length > header.length) {
    throw new Invalid(`range ${offset}+${length} is outside a ${header.length}-byte body`);
  }
  const first = Math.floor(offset / CHUNK_BYTES);
  const last = Math.floor((offset + length - 1) / CHUNK_BYTES);
  const sealedChunk = CHUNK_BYTES + MAC_BYTES;
  const start = STREAM_HEADER_BYTES + first * sealedChunk;
  const lastPlain = Math.min(CHUNK_BYTES, header.padded - last * CHUNK_BYTES);
  const end = STREAM_HEADER_BYTES + last * sealedChunk + lastPlain + MAC_BYTES - 1;
  return { start, end };
}

/** Plaintext [offset, offset+length) from the sealed bytes of cipherRangeFor(header, offset, length). */
export function openRange(
  key: Uint8Array,
  header: StreamHeader,
  cipher: Uint8Array,
  ctx: SealContext,
  offset: number,
  length: number,
): Uint8Array {
  const { start, end } = cipherRangeFor(header, offset, length);
  if (cipher.length < end - start + 1)
    throw new Truncated(`${ctx.purpose} at ${ctx.path}: the body ends early`);
  const first = Math.floor(offset / CHUNK_BYTES);
  const plain = openChunks(key, header, ctx, cipher.subarray(0, end - start + 1), first);
  const skip = offset - first * CHUNK_BYTES;
  return plain.subarray(skip, skip + length);
}
