/**
 * Reads many values from the log with few system calls: values that sit close together (rows
 * written together, or listed in order) are read as one span and cut apart. A page of 100 rows is
 * then one read, not 100.
 */
import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { Unavailable } from "../../errors.ts";
import { readFully } from "./durableFs.ts";
import type { ValueRef } from "./rowIndex.ts";

/** A gap this small is cheaper to read through than to skip with another call. */
const maxGapBytes = 16 << 10;
const maxSpanBytes = 1 << 20;
/**
 * Spans up to this many bytes are read synchronously, as BlobFolder.readSmall reads small blobs: a
 * pread of a few kB from the page cache takes microseconds, a trip through libuv's thread pool and
 * back costs more, and waits behind whatever holds the pool (Argon2id at login holds one of its
 * four threads for ~130 ms).
 */
const syncSpanBytes = 256 << 10;

/** The values of `refs` (tombstones left out). Offsets are taken synchronously, at the call. */
export function readValues(
  fh: FileHandle,
  refs: ValueRef[],
  logPath: string,
): Promise<Map<ValueRef, Uint8Array>> {
  const wanted = refs
    .filter((r) => !r.tombstone)
    .map((ref) => ({
      ref,
      start: ref.pos + ref.valueOffset,
      end: ref.pos + ref.valueOffset + ref.valueLength,
    }))
    .sort((a, b) => a.start - b.start);
  const spans: { start: number; end: number; parts: typeof wanted }[] = [];
  for (const part of wanted) {
    const last = spans[spans.length - 1];
    if (last && part.start - last.end <= maxGapBytes && part.end - last.start <= maxSpanBytes) {
      last.end = Math.max(last.end, part.end);
      last.parts.push(part);
    } else spans.push({ start: part.start, end: part.end, parts: [part] });
  }
  return Promise.all(
    spans.map(async (span) => {
      const length = span.end - span.start;
      const bytes =
        length <= syncSpanBytes
          ? readSpanNow(fh, span.start, length)
          : await readFully(fh, span.start, length);
      if (bytes.length !== span.end - span.start) {
        throw new Unavailable(`embedded store: ${logPath} is shorter than its index says`);
      }
      return span.parts.map(
        (p) =>
          [
            p.ref,
            bytes.length === p.end - p.start ? bytes : bytes.slice(p.start - span.start, p.end - span.start),
          ] as const,
      );
    }),
  ).then((parts) => new Map(parts.flat()));
}

/** readFully without the thread pool; fewer bytes if the file ends first. */
function readSpanNow(fh: FileHandle, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fh.fd, out, done, length - done, position + done);
    if (n === 0) return out.subarray(0, done);
    done += n;
  }
  return out;
}
