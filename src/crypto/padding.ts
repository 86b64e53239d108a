/**
 * Size buckets for everything we seal, so the storage host learns a bucket, not a size (issue 12:
 * an op row's exact size told add, flags and expunge apart; a meta row's told the header's size).
 *
 * Buckets: powers of two from 256 B to 64 KiB, then multiples of 64 KiB. The floor puts every
 * single-message op, a small mailbox list and the small incoming records in one bucket; powers of
 * two hide a header's size to within a factor of two. Above 64 KiB (checkpoints of big mailboxes,
 * large bodies) the step is 64 KiB, so padding never costs more than 64 KiB an object. On the
 * bench corpus (bench/paddingOverhead.ts, docs/crypto.md "Size buckets") padding the sealed objects
 * adds 2.4 % to what was stored (meta rows grow by 42 %, but bodies dominate); Padmé would add
 * 0.1 % but tells a 2.3 KB header from a 2.5 KB one.
 *
 * Message bodies (chunkedStream.ts) pad to `bucketSize(length)` and keep the true length in their
 * header. Sealed objects (aead.ts, version 2) carry it in the plaintext itself: ISO/IEC 7816-4
 * padding, as libsodium's `sodium_pad` does it (the byte 0x80, then zeros up to the bucket), so
 * the padded plaintext is one byte longer than the object. It is written here rather than taken
 * from sodium-native, whose `sodium_unpad` does not report a bad padding (it answered 255 for 256
 * zeros); the padding sits inside the authenticated plaintext, so a bad one means a bug.
 */
import { Tampered } from "../errors.ts";

/** The smallest bucket. */
export const BUCKET_FLOOR = 256;
/** Buckets are powers of two up to this, then multiples of it. */
export const BUCKET_STEP = 64 * 1024;

const MARKER = 0x80;

/** The smallest bucket that holds `n` bytes. */
export function bucketSize(n: number): number {
  if (n <= BUCKET_FLOOR) return BUCKET_FLOOR;
  if (n <= BUCKET_STEP) return 2 ** Math.ceil(Math.log2(n));
  return Math.ceil(n / BUCKET_STEP) * BUCKET_STEP;
}

/** Whether `n` is one of the buckets (a test of what the host sees). */
export function isBucket(n: number): boolean {
  return n === bucketSize(n);
}

/** `plain`, the marker, then zeros up to the smallest bucket that holds them. */
export function padToBucket(plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(bucketSize(plain.length + 1));
  out.set(plain);
  out[plain.length] = MARKER;
  return out;
}

/**
 * Pads in place: `room` is zero-filled and `bucketSize(length + 1)` long, and its first `length`
 * bytes hold the plaintext; the marker goes after them (what padToBucket writes, without a copy).
 */
export function padInPlace(room: Uint8Array, length: number): void {
  if (room.length !== bucketSize(length + 1))
    throw new Error("padding: the room is not the plaintext's bucket");
  room[length] = MARKER;
}

/** The plaintext inside `padded` (a view, no copy). */
export function unpad(padded: Uint8Array, where: string): Uint8Array {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== MARKER) throw new Tampered(`${where}: the padding is not well formed`);
  return padded.subarray(0, end);
}
