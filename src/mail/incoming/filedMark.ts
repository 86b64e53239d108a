/**
 * This computer's mark of the record of filed deliveries (filedDeliveries.ts), kept in the
 * account's mark book (localMarks.ts) beside the mailbox marks: the floor and every id it saw
 * above it. Honest storage never takes either back: a writer folds an id into the floor (which then
 * covers it) or keeps it, and a write supersedes only the siblings it read and merged. So a record
 * whose floor is lower, or that lacks an id the mark holds above its floor, is an older record
 * served again: a mover that believed it would file again the deliveries filed since. Pure functions.
 */

export interface FiledMark {
  floor: string;
  /** The ids seen above `floor`, sorted. */
  ids: string[];
}

export const EMPTY_FILED_MARK: FiledMark = { floor: "0".repeat(28), ids: [] };

/** What went back, in words, or undefined when the record holds everything the mark saw. */
export function filedRegression(
  mark: FiledMark,
  floor: string,
  ids: ReadonlySet<string>,
): string | undefined {
  if (floor < mark.floor) return `its floor ${floor} is below ${mark.floor}, which this computer saw`;
  const missing = mark.ids.filter((id) => id > floor && !ids.has(id));
  if (missing.length === 0) return undefined;
  const newest = missing[missing.length - 1]!;
  return `${missing.length} filed delivery id${missing.length > 1 ? "s" : ""} this computer saw ${missing.length > 1 ? "are" : "is"} missing (the newest ${newest})`;
}

export function filedMarkOf(floor: string, ids: Iterable<string>): FiledMark {
  return { floor, ids: [...ids].filter((id) => id > floor).sort() };
}

export function isEmptyFiledMark(mark: FiledMark): boolean {
  return mark.floor === EMPTY_FILED_MARK.floor && mark.ids.length === 0;
}

export function sameFiledMark(a: FiledMark, b: FiledMark): boolean {
  return a.floor === b.floor && a.ids.length === b.ids.length && a.ids.every((id, i) => b.ids[i] === id);
}

export function decodeFiledMark(value: unknown): FiledMark {
  const v = value as Partial<FiledMark> | undefined;
  if (!v || typeof v.floor !== "string" || !Array.isArray(v.ids)) return EMPTY_FILED_MARK;
  return filedMarkOf(
    v.floor,
    v.ids.filter((id): id is string => typeof id === "string"),
  );
}
