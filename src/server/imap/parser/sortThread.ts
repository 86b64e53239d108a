/**
 * SORT and THREAD (RFC 5256 §3, §4): sort criteria or a threading algorithm, a charset (which,
 * unlike SEARCH's, is not optional), then search keys; SORT may ask for ESEARCH results first
 * (RFC 5267 ESORT).
 */
import type { Cursor } from "./cursor.ts";
import { ParseError } from "./parseError.ts";
import { searchReturns } from "./messageCommands.ts";
import { searchProgram } from "./searchKeys.ts";
import type { Command, SortCriterion, ThreadAlgorithm } from "./types.ts";

const SORT_KEYS = new Set<SortCriterion["key"]>(["ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO"]);
const ALGORITHMS = new Set<ThreadAlgorithm>(["ORDEREDSUBJECT", "REFERENCES"]);

export function sortCommand(c: Cursor, uid: boolean): Command {
  // RFC 5267 §3.2 ESORT: SORT RETURN (...) (criteria) charset keys.
  const returns = searchReturns(c, "SORT");
  c.sp();
  c.expect("(");
  const criteria: SortCriterion[] = [];
  let reverse = false;
  for (;;) {
    const word = c.atom("a sort criterion").toUpperCase();
    if (word === "REVERSE") {
      if (reverse) throw new ParseError("REVERSE twice in a row");
      reverse = true;
    } else if (SORT_KEYS.has(word as SortCriterion["key"])) {
      criteria.push({ key: word as SortCriterion["key"], reverse });
      reverse = false;
    } else throw new ParseError(`unknown sort criterion ${word}`);
    if (c.accept(")")) break;
    c.sp();
  }
  if (reverse) throw new ParseError("REVERSE must stand before a sort criterion");
  return {
    name: "SORT",
    uid,
    criteria,
    charset: charset(c),
    key: searchProgram(c),
    ...(returns ? { returns } : {}),
  };
}

export function threadCommand(c: Cursor, uid: boolean): Command {
  c.sp();
  const algorithm = c.atom("a threading algorithm").toUpperCase() as ThreadAlgorithm;
  if (!ALGORITHMS.has(algorithm)) throw new ParseError(`unknown threading algorithm ${algorithm}`);
  return { name: "THREAD", uid, algorithm, charset: charset(c), key: searchProgram(c) };
}

function charset(c: Cursor): string {
  c.sp();
  const name = c.astring("a charset").toUpperCase();
  if (name !== "UTF-8" && name !== "US-ASCII")
    throw new ParseError(`charset ${name} is not supported`, "NO", "BADCHARSET (UTF-8 US-ASCII)");
  return name;
}
