/** SEARCH keys (RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 8514 SAVED*), nested to a bounded depth. */
import type { Cursor } from "./cursor.ts";
import { parseDate } from "./dateTime.ts";
import { ParseError } from "./parseError.ts";
import { parseSequenceSet } from "./sequenceSet.ts";
import type { SearchKey } from "./types.ts";

/** Deeper nesting than this is refused rather than recursed into (hostile input). */
const MAX_DEPTH = 64;

const FLAG_KEYS = new Set([
  "ALL",
  "ANSWERED",
  "DELETED",
  "DRAFT",
  "FLAGGED",
  "NEW",
  "OLD",
  "RECENT",
  "SEEN",
  "UNANSWERED",
  "UNDELETED",
  "UNDRAFT",
  "UNFLAGGED",
  "UNSEEN",
  "SAVEDATESUPPORTED",
]);
const STRING_KEYS = new Set(["BCC", "CC", "FROM", "SUBJECT", "TO", "BODY", "TEXT"]);
const DATE_KEYS = new Set([
  "BEFORE",
  "ON",
  "SINCE",
  "SENTBEFORE",
  "SENTON",
  "SENTSINCE",
  "SAVEDBEFORE",
  "SAVEDON",
  "SAVEDSINCE",
]);

function date(c: Cursor): number {
  if (c.peek() === '"' || c.atLiteral()) return parseDate(c.stringBytes("a date").toString("latin1"));
  return parseDate(c.word("a date"));
}

/** One search key. */
export function searchKey(c: Cursor, depth = 0): SearchKey {
  if (depth > MAX_DEPTH) throw new ParseError("search keys are nested too deeply");
  if (c.accept("(")) {
    const keys = [searchKey(c, depth + 1)];
    while (!c.accept(")")) {
      c.sp();
      keys.push(searchKey(c, depth + 1));
    }
    return keys.length === 1 ? keys[0]! : { kind: "AND", keys };
  }
  const first = c.peek();
  if (/[0-9*$]/.test(first)) return { kind: "SEQ", set: parseSequenceSet(c.word("a sequence set")) };
  const word = c.atom("a search key").toUpperCase();
  if (FLAG_KEYS.has(word)) return { kind: word } as SearchKey;
  if (STRING_KEYS.has(word)) {
    c.sp();
    return { kind: word, value: c.astring(`the ${word} text`) } as SearchKey;
  }
  if (DATE_KEYS.has(word)) {
    c.sp();
    return { kind: word, date: date(c) } as SearchKey;
  }
  switch (word) {
    case "KEYWORD":
    case "UNKEYWORD":
      c.sp();
      return { kind: word, flag: c.atom("a keyword") };
    case "HEADER": {
      c.sp();
      const field = c.astring("a header field name");
      c.sp();
      return { kind: "HEADER", field, value: c.astring("the header text") };
    }
    case "LARGER":
    case "SMALLER":
      c.sp();
      return { kind: word, size: c.number("a size", 4294967295) };
    case "EMAILID":
    case "THREADID": {
      c.sp();
      const id = c.atom("an object id");
      // RFC 8474 §4: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) throw new ParseError(`${id} is not an object id`);
      return { kind: word, id };
    }
    case "YOUNGER":
    case "OLDER":
      c.sp();
      return { kind: word, seconds: c.number("a number of seconds", 4294967295) };
    case "UID":
      c.sp();
      return { kind: "UID", set: parseSequenceSet(c.word("a UID set")) };
    case "NOT":
      c.sp();
      return { kind: "NOT", key: searchKey(c, depth + 1) };
    case "OR": {
      c.sp();
      const left = searchKey(c, depth + 1);
      c.sp();
      return { kind: "OR", left, right: searchKey(c, depth + 1) };
    }
    case "MODSEQ": {
      c.sp();
      // Optional entry name and type (per-flag MODSEQs), which we accept and do not use.
      if (c.peek() === '"' || c.atLiteral()) {
        c.stringBytes("an entry name");
        c.sp();
        const type = c.atom("an entry type").toLowerCase();
        if (!["priv", "shared", "all"].includes(type))
          throw new ParseError(`invalid MODSEQ entry type ${type}`);
        c.sp();
      }
      return { kind: "MODSEQ", modseq: c.number("a MODSEQ") };
    }
    default:
      throw new ParseError(`unknown search key ${word}`);
  }
}

/** 1*(SP search-key) up to the end of the command: their AND. */
export function searchProgram(c: Cursor): SearchKey {
  const keys: SearchKey[] = [];
  do {
    c.sp();
    keys.push(searchKey(c));
    if (c.peek() === ")") throw new ParseError('a ")" without its "(" in the search keys');
  } while (!c.atEnd());
  return keys.length === 1 ? keys[0]! : { kind: "AND", keys };
}
