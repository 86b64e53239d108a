/**
 * Which matches an ESEARCH answer describes (RFC 4731 §3.2, RFC 5182): with MIN and/or MAX but
 * neither ALL nor COUNT, only the lowest and/or highest; otherwise all of them. The MODSEQ result
 * is the highest MODSEQ of these, and SAVE keeps their UIDs.
 */
import type { SearchReturn } from "../parser/types.ts";

export function returnedMatches<T>(found: readonly T[], returns: readonly SearchReturn[]): T[] {
  const onlyEnds =
    !returns.includes("ALL") &&
    !returns.includes("COUNT") &&
    (returns.includes("MIN") || returns.includes("MAX"));
  if (!onlyEnds || found.length === 0) return [...found];
  const ends = new Set<T>();
  if (returns.includes("MIN")) ends.add(found[0]!);
  if (returns.includes("MAX")) ends.add(found[found.length - 1]!);
  return [...ends];
}
