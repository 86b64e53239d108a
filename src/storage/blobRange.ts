import { Invalid } from "../errors.ts";
import type { ByteRange } from "./types.ts";

/** The bytes of `obj` a range asks for, clipped to the object (HTTP Range semantics, inclusive end). */
export function sliceRange(obj: Uint8Array, range?: ByteRange): Uint8Array {
  if (!range) return obj;
  if (range.start < 0 || (range.end !== undefined && range.end < range.start)) {
    throw new Invalid(`invalid byte range ${range.start}-${range.end ?? ""}`);
  }
  const endExclusive = range.end === undefined ? obj.length : Math.min(obj.length, range.end + 1);
  return obj.subarray(Math.min(range.start, obj.length), endExclusive);
}
