/**
 * The grammar of each command (RFC 3501 §6 and the extensions we announce), from a framed command
 * to a typed Command. Bad input never throws out of here: it becomes a ParseFailure with the tag
 * when one could be read.
 */
import { Cursor, type FramePart } from "./cursor.ts";
import { parseDateTime } from "./dateTime.ts";
import { fetchAttribute } from "./fetchAttributes.ts";
import { flag, flagList } from "./flags.ts";
import { listPattern, mailbox } from "./mailboxArg.ts";
import { ParseError } from "./parseError.ts";
import { searchProgram } from "./searchKeys.ts";
import { parseSequenceSet } from "./sequenceSet.ts";
import type {
  Command,
  FetchAttribute,
  FetchModifiers,
  ParseFailure,
  SearchReturn,
  SelectParams,
  StatusItem,
  StoreMode,
  TaggedCommand,
} from "./types.ts";

/** tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 §9); "]" is an ASTRING-CHAR. */
const TAG = /^[^(){ %*"\\+\x00-\x1f\x7f-\xff]+/;

/** The tag at the start of a line, if it has a valid one. */
export function tagOf(line: string): string | undefined {
  const m = TAG.exec(line);
  return m && line[m[0].length] === " " ? m[0] : undefined;
}

export function parseCommand(parts: FramePart[]): TaggedCommand | ParseFailure {
  const head = parts[0]?.kind === "text" ? parts[0].text : "";
  const tag = tagOf(head);
  if (!tag) return { status: "BAD", text: "a command starts with a tag, then a space" };
  const c = new Cursor(parts);
  try {
    c.expect(tag);
    c.sp();
    const command = commandBody(c);
    c.end();
    return { tag, command };
  } catch (err) {
    if (err instanceof ParseError) {
      return { tag, status: err.status, text: err.message, ...(err.code ? { code: err.code } : {}) };
    }
    return { tag, status: "BAD", text: "the command could not be parsed" };
  }
}

function word(c: Cursor): string {
  let out = "";
  while (/[A-Za-z0-9-]/.test(c.peek())) {
    out += c.peek();
    c.accept(c.peek());
  }
  if (!out) throw new ParseError(`a command name was expected${c.near()}`);
  return out.toUpperCase();
}

function commandBody(c: Cursor): Command {
  const name = word(c);
  switch (name) {
    case "CAPABILITY":
    case "NOOP":
    case "LOGOUT":
    case "STARTTLS":
    case "NAMESPACE":
    case "CHECK":
    case "CLOSE":
    case "UNSELECT":
    case "IDLE":
      return { name };
    case "EXPUNGE":
      return { name, uid: false };
    case "ID":
      return { name, params: idParams(c) };
    case "LOGIN": {
      c.sp();
      const user = c.astring("a user name");
      c.sp();
      return { name, user, password: c.astring("a password") };
    }
    case "AUTHENTICATE": {
      c.sp();
      const mechanism = c.atom("a SASL mechanism").toUpperCase();
      if (c.atEnd()) return { name, mechanism };
      c.sp();
      return { name, mechanism, initial: c.word("an initial response") };
    }
    case "ENABLE": {
      const capabilities: string[] = [];
      do {
        c.sp();
        capabilities.push(c.atom("a capability"));
      } while (!c.atEnd());
      return { name, capabilities };
    }
    case "SELECT":
    case "EXAMINE": {
      c.sp();
      const box = mailbox(c);
      return { name, mailbox: box, params: c.atEnd() ? {} : selectParams(c) };
    }
    case "CREATE": {
      c.sp();
      const box = mailbox(c);
      if (c.atEnd()) return { name, mailbox: box };
      c.sp();
      c.expect("(");
      c.expect("USE", "USE");
      c.sp();
      const specialUse = flagListLoose(c);
      c.expect(")");
      return { name, mailbox: box, specialUse };
    }
    case "DELETE":
    case "SUBSCRIBE":
    case "UNSUBSCRIBE":
      c.sp();
      return { name, mailbox: mailbox(c) };
    case "RENAME": {
      c.sp();
      const from = mailbox(c);
      c.sp();
      return { name, from, to: mailbox(c) };
    }
    case "LIST":
      return list(c);
    case "LSUB": {
      c.sp();
      const reference = c.astring("a reference name");
      c.sp();
      return { name, reference, pattern: listPattern(c) };
    }
    case "STATUS": {
      c.sp();
      const box = mailbox(c);
      c.sp();
      return { name, mailbox: box, items: statusItems(c) };
    }
    case "APPEND":
      return append(c);
    case "SEARCH":
      return search(c, false);
    case "FETCH":
      return fetch(c, false);
    case "STORE":
      return store(c, false);
    case "COPY":
    case "MOVE": {
      c.sp();
      const set = parseSequenceSet(c.word("a sequence set"));
      c.sp();
      return { name, uid: false, set, mailbox: mailbox(c) };
    }
    case "UID":
      return uidCommand(c);
    default:
      throw new ParseError(`unknown command ${name}`);
  }
}

function uidCommand(c: Cursor): Command {
  c.sp();
  const name = word(c);
  switch (name) {
    case "FETCH":
      return fetch(c, true);
    case "STORE":
      return store(c, true);
    case "SEARCH":
      return search(c, true);
    case "COPY":
    case "MOVE": {
      c.sp();
      const set = parseSequenceSet(c.word("a UID set"));
      c.sp();
      return { name, uid: true, set, mailbox: mailbox(c) };
    }
    case "EXPUNGE":
      c.sp();
      return { name, uid: true, uids: parseSequenceSet(c.word("a UID set")) };
    default:
      throw new ParseError(`UID ${name} is not a command (UID FETCH, STORE, SEARCH, COPY, MOVE or EXPUNGE)`);
  }
}

function idParams(c: Cursor): Record<string, string | null> | null {
  c.sp();
  if (c.accept("NIL")) return null;
  c.expect("(");
  const params: Record<string, string | null> = {};
  if (c.accept(")")) return params;
  for (let i = 0; ; i++) {
    if (i >= 30) throw new ParseError("too many ID fields (at most 30)");
    const key = c.stringBytes("an ID field name").toString("utf8");
    c.sp();
    params[key.slice(0, 30)] = c.nstring()?.slice(0, 1024) ?? null;
    if (c.accept(")")) return params;
    c.sp();
  }
}

/** "(" atom-ish flags ")" for CREATE's USE list (special-use attributes like \Drafts). */
function flagListLoose(c: Cursor): string[] {
  c.expect("(");
  const out: string[] = [];
  while (!c.accept(")")) {
    if (out.length) c.sp();
    c.expect("\\", "a special-use attribute");
    out.push("\\" + c.atom("a special-use attribute"));
  }
  return out;
}

function selectParams(c: Cursor): SelectParams {
  c.sp();
  c.expect("(");
  const params: SelectParams = {};
  while (!c.accept(")")) {
    if (params.condstore !== undefined || params.qresync) c.sp();
    const p = c.atom("a SELECT parameter").toUpperCase();
    if (p === "CONDSTORE") params.condstore = true;
    else if (p === "QRESYNC") {
      c.sp();
      c.expect("(");
      const uidvalidity = c.nzNumber("a UIDVALIDITY");
      c.sp();
      const modseq = c.number("a MODSEQ");
      const q: NonNullable<SelectParams["qresync"]> = { uidvalidity, modseq };
      if (c.accept(" ")) {
        if (c.peek() !== "(") {
          q.knownUids = parseSequenceSet(c.word("known UIDs"));
          c.accept(" ");
        }
        if (c.accept("(")) {
          const seqs = parseSequenceSet(c.word("known sequence numbers"));
          c.sp();
          const uids = parseSequenceSet(c.word("known UIDs"));
          c.expect(")");
          q.seqMatch = { seqs, uids };
        }
      }
      c.expect(")");
      params.qresync = q;
    } else throw new ParseError(`unknown SELECT parameter ${p}`);
  }
  return params;
}

const STATUS_ITEMS = new Set<StatusItem>([
  "MESSAGES",
  "RECENT",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "HIGHESTMODSEQ",
  "SIZE",
]);

function statusItems(c: Cursor): StatusItem[] {
  c.expect("(");
  const items: StatusItem[] = [];
  for (;;) {
    const item = c.atom("a STATUS item").toUpperCase() as StatusItem;
    if (!STATUS_ITEMS.has(item)) throw new ParseError(`unknown STATUS item ${item}`);
    items.push(item);
    if (c.accept(")")) return items;
    c.sp();
  }
}

function list(c: Cursor): Command {
  c.sp();
  const selection: string[] = [];
  if (c.accept("(")) {
    while (!c.accept(")")) {
      if (selection.length) c.sp();
      selection.push(c.atom("a LIST selection option").toUpperCase());
    }
    c.sp();
  }
  const reference = listPattern(c);
  c.sp();
  const patterns: string[] = [];
  if (c.accept("(")) {
    while (!c.accept(")")) {
      if (patterns.length) c.sp();
      patterns.push(listPattern(c));
    }
  } else patterns.push(listPattern(c));
  const returnOptions: string[] = [];
  let returnStatus: StatusItem[] | undefined;
  if (!c.atEnd()) {
    c.sp();
    c.expect("RETURN", "RETURN");
    c.sp();
    c.expect("(");
    while (!c.accept(")")) {
      if (returnOptions.length || returnStatus) c.sp();
      const opt = c.atom("a LIST return option").toUpperCase();
      if (opt === "STATUS") {
        c.sp();
        returnStatus = statusItems(c);
      } else returnOptions.push(opt);
    }
  }
  return {
    name: "LIST",
    selection,
    reference,
    patterns,
    returnOptions,
    ...(returnStatus ? { returnStatus } : {}),
  };
}

function append(c: Cursor): Command {
  c.sp();
  const box = mailbox(c);
  c.sp();
  let flags: string[] = [];
  let date: number | undefined;
  if (c.peek() === "(") {
    flags = flagList(c);
    c.sp();
  }
  if (c.peek() === '"') {
    date = parseDateTime(c.stringBytes("a date-time").toString("latin1"));
    c.sp();
  }
  if (c.peek() === "~") throw new ParseError("literal8 (BINARY APPEND) is not supported");
  if (!c.atLiteral()) throw new ParseError(`the message was expected as a literal${c.near()}`);
  const message = c.literal();
  return { name: "APPEND", mailbox: box, flags, ...(date !== undefined ? { date } : {}), message };
}

const RETURNS = new Set<SearchReturn>(["MIN", "MAX", "ALL", "COUNT", "SAVE"]);

function search(c: Cursor, uid: boolean): Command {
  let returns: SearchReturn[] | undefined;
  let charset: string | undefined;
  if (c.accept(" RETURN ")) {
    c.expect("(");
    returns = [];
    while (!c.accept(")")) {
      if (returns.length) c.sp();
      const r = c.atom("a RETURN option").toUpperCase() as SearchReturn;
      if (!RETURNS.has(r)) throw new ParseError(`unknown SEARCH RETURN option ${r}`);
      returns.push(r);
    }
  }
  if (c.accept(" CHARSET ")) {
    charset = c.astring("a charset").toUpperCase();
    if (charset !== "UTF-8" && charset !== "US-ASCII") {
      throw new ParseError(`charset ${charset} is not supported`, "NO", "BADCHARSET (UTF-8 US-ASCII)");
    }
  }
  const key = searchProgram(c);
  return { name: "SEARCH", uid, ...(charset ? { charset } : {}), ...(returns ? { returns } : {}), key };
}

function fetch(c: Cursor, uid: boolean): Command {
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

function store(c: Cursor, uid: boolean): Command {
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
