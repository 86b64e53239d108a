/**
 * Reads many values from the log with few system calls: values that sit close together (rows
 * written together, or listed in order) are read as one span and cut apart. A page of 100 rows is
 * then one read, not 100.
 */
import type { FileHandle } from "node:fs/promises";
import { Unavailable } from "../../errors.ts";
import { readFully } from "./durableFs.ts";
import type { ValueRef } from "./rowIndex.ts";

/** A gap this small is cheaper to read through than to skip with another call. */
const maxGapBytes = 16 << 10;
const maxSpanBytes = 1 << 20;

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
      const bytes = await readFully(fh, span.start, span.end - span.start);
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
