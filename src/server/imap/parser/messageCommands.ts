/**
 * The grammar of the commands on messages of the selected mailbox (RFC 3501 §6.4): SEARCH with
 * ESEARCH RETURN (RFC 4731), FETCH and STORE with their CONDSTORE/QRESYNC modifiers (RFC 7162),
 * COPY, MOVE (RFC 6851) and UID EXPUNGE (RFC 4315). Each takes `uid` for its UID form.
 */
import type { Cursor } from "./cursor.ts";
import { fetchAttribute } from "./fetchAttributes.ts";
import { flag, flagList } from "./flags.ts";
import { mailbox } from "./mailboxArg.ts";
import { ParseError } from "./parseError.ts";
import { searchProgram } from "./searchKeys.ts";
import { parseSequenceSet } from "./sequenceSet.ts";
import type { Command, FetchAttribute, FetchModifiers, SearchReturn, StoreMode } from "./types.ts";

/** COPY or MOVE: sequence-set SP mailbox. */
export function copyCommand(c: Cursor, name: "COPY" | "MOVE", uid: boolean): Command {
  c.sp();
  const set = parseSequenceSet(c.word(uid ? "a UID set" : "a sequence set"));
  c.sp();
  return { name, uid, set, mailbox: mailbox(c) };
}

/** UID EXPUNGE uid-set (RFC 4315). */
export function uidExpungeCommand(c: Cursor): Command {
  c.sp();
  return { name: "EXPUNGE", uid: true, uids: parseSequenceSet(c.word("a UID set")) };
}

const RETURNS = new Set<SearchReturn>(["MIN", "MAX", "ALL", "COUNT", "SAVE"]);

/** " RETURN (options)" of SEARCH (RFC 4731) or SORT (RFC 5267 ESORT), if it comes next. */
export function searchReturns(c: Cursor, command: "SEARCH" | "SORT"): SearchReturn[] | undefined {
  if (!c.accept(" RETURN ")) return undefined;
  c.expect("(");
  const returns: SearchReturn[] = [];
  while (!c.accept(")")) {
    if (returns.length) c.sp();
    const r = c.atom("a RETURN option").toUpperCase() as SearchReturn;
    if (!RETURNS.has(r)) throw new ParseError(`unknown ${command} RETURN option ${r}`);
    returns.push(r);
  }
  return returns;
}

export function searchCommand(c: Cursor, uid: boolean): Command {
  const returns = searchReturns(c, "SEARCH");
  let charset: string | undefined;
  if (c.accept(" CHARSET ")) {
    charset = c.astring("a charset").toUpperCase();
    if (charset !== "UTF-8" && charset !== "US-ASCII") {
      throw new ParseError(`charset ${charset} is not supported`, "NO", "BADCHARSET (UTF-8 US-ASCII)");
    }
  }
  const key = searchProgram(c);
  return { name: "SEARCH", uid, ...(charset ? { charset } : {}), ...(returns ? { returns } : {}), key };
}

export function fetchCommand(c: Cursor, uid: boolean): Command {
  c.sp();
  const set = parseSequenceSet(c.word("a sequence set"));
  c.sp();
  const attributes: FetchAttribute[] = [];
  let macro: "ALL" | "FAST" | "FULL" | undefined;
  if (c.accept("(")) {
    for (;;) {
      attributes.push(fetchAttribute(c));
      if (c.accept(")")) break;
      c.sp();
    }
  } else {
    const ahead = c.rest(5).toUpperCase();
    macro = (["ALL", "FAST", "FULL"] as const).find(
      (m) => ahead.startsWith(m) && (ahead.length === m.length || ahead[m.length] === " "),
    );
    if (macro) c.expect(macro);
    else attributes.push(fetchAttribute(c));
  }
  const modifiers: FetchModifiers = {};
  if (!c.atEnd()) {
    c.sp();
    c.expect("(");
    while (!c.accept(")")) {
      if (modifiers.changedSince !== undefined || modifiers.vanished) c.sp();
      const m = c.atom("a FETCH modifier").toUpperCase();
      if (m === "CHANGEDSINCE") {
        c.sp();
        modifiers.changedSince = c.number("a MODSEQ");
      } else if (m === "VANISHED") {
        if (!uid) throw new ParseError("VANISHED is only valid with UID FETCH");
        modifiers.vanished = true;
      } else throw new ParseError(`unknown FETCH modifier ${m}`);
    }
    if (modifiers.vanished && modifiers.changedSince === undefined) {
      throw new ParseError("VANISHED needs CHANGEDSINCE");
    }
  }
  return { name: "FETCH", uid, set, attributes, ...(macro ? { macro } : {}), modifiers };
}

export function storeCommand(c: Cursor, uid: boolean): Command {
  c.sp();
  const set = parseSequenceSet(c.word("a sequence set"));
  c.sp();
  let unchangedSince: number | undefined;
  if (c.accept("(")) {
    c.expect("UNCHANGEDSINCE", "UNCHANGEDSINCE");
    c.sp();
    unchangedSince = c.number("a MODSEQ");
    c.expect(")");
    c.sp();
  }
  const item = c.word("FLAGS, +FLAGS or -FLAGS").toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) throw new ParseError(`invalid STORE item ${item}: FLAGS, +FLAGS or -FLAGS, optionally .SILENT`);
  const mode: StoreMode = m[1] === "+" ? "add" : m[1] === "-" ? "remove" : "set";
  c.sp();
  let flags: string[];
  if (c.peek() === "(") flags = flagList(c);
  else {
    flags = [flag(c)];
    while (!c.atEnd()) {
      c.sp();
      flags.push(flag(c));
    }
  }
  return {
    name: "STORE",
    uid,
    set,
    mode,
    silent: Boolean(m[2]),
    flags,
    ...(unchangedSince !== undefined ? { unchangedSince } : {}),
  };
}
