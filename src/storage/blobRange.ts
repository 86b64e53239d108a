import { Invalid } from "../errors.ts";
import type { ByteRange } from "./types.ts";

/**
 * Where a range falls in an object of `size` bytes, clipped to the object (HTTP Range semantics,
 * inclusive end): a start past the end gives an empty span.
 */
export function clipRange(size: number, range?: ByteRange): { start: number; endExclusive: number } {
  if (!range) return { start: 0, endExclusive: size };
  if (
    !Number.isSafeInteger(range.start) ||
    range.start < 0 ||
    (range.end !== undefined && (!Number.isSafeInteger(range.end) || range.end < range.start))
  ) {
    throw new Invalid(`invalid byte range ${range.start}-${range.end ?? ""}`);
  }
  const endExclusive = range.end === undefined ? size : Math.min(size, range.end + 1);
  return { start: Math.min(range.start, size), endExclusive };
}

/** The bytes of `obj` a range asks for, clipped to the object (HTTP Range semantics, inclusive end). */
export function sliceRange(obj: Uint8Array, range?: ByteRange): Uint8Array {
  const { start, endExclusive } = clipRange(obj.length, range);
  return obj.subarray(start, endExclusive);
}
