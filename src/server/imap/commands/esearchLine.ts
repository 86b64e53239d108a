/**
 * The ESEARCH response (RFC 4731 §3.1) of SEARCH RETURN and SORT RETURN (RFC 5267 ESORT §3.2).
 * `numbers` are the matches in the command's order: ascending for SEARCH, the sort order for SORT,
 * where MIN and MAX are the first and last in that order and ALL keeps it (a range only where
 * numbers follow each other upwards).
 */
import type { SearchReturn } from "../parser/types.ts";
import { quotedOrLiteral } from "../protocol/wire.ts";

export function esearchLine(
  tag: string,
  uid: boolean,
  numbers: readonly number[],
  shown: readonly SearchReturn[],
  modseq: number | undefined,
): string {
  let line = `ESEARCH (TAG ${quotedOrLiteral(tag)})${uid ? " UID" : ""}`;
  if (numbers.length > 0) {
    if (shown.includes("MIN")) line += ` MIN ${numbers[0]}`;
    if (shown.includes("MAX")) line += ` MAX ${numbers[numbers.length - 1]}`;
    if (shown.includes("ALL")) line += ` ALL ${orderedSet(numbers)}`;
  }
  if (shown.includes("COUNT")) line += ` COUNT ${numbers.length}`;
  if (modseq !== undefined) line += ` MODSEQ ${modseq}`;
  return line;
}

/** A sequence-set that keeps the numbers' order: "1:3,7,5" for 1 2 3 7 5. */
export function orderedSet(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    const first = numbers[i]!;
    let last = first;
    while (i + 1 < numbers.length && numbers[i + 1] === last + 1) last = numbers[++i]!;
    parts.push(first === last ? `${first}` : `${first}:${last}`);
    i++;
  }
  return parts.join(",");
}
