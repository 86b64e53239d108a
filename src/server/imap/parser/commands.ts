/**
 * Turns a framed command into a typed Command (RFC 3501 §6 and the extensions we announce): the
 * tag, then the command name looked up (in any case) in a table of grammars, one per command.
 * Bad input never throws out of here: it becomes a ParseFailure, with the tag when one was read.
 */
import { Cursor, type FramePart } from "./cursor.ts";
import { listPattern, mailbox } from "./mailboxArg.ts";
import {
  appendCommand,
  createCommand,
  listCommand,
  selectCommand,
  statusCommand,
} from "./mailboxCommands.ts";
import {
  copyCommand,
  fetchCommand,
  searchCommand,
  storeCommand,
  uidExpungeCommand,
} from "./messageCommands.ts";
import { sortCommand, threadCommand } from "./sortThread.ts";
import { ParseError } from "./parseError.ts";
import type { Command, ParseFailure, TaggedCommand } from "./types.ts";

/** tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 §9); "]" is an ASTRING-CHAR. */
const TAG = /^[^(){ %*"\\+\x00-\x1f\x7f-\xff]+/;

/** The tag at the start of a line, if it has a valid one. */
export function tagOf(line: string): string | undefined {
  const m = TAG.exec(line);
  return m && line[m[0].length] === " " ? m[0] : undefined;
}

export function parseCommand(parts: FramePart[], utf8Names = false): TaggedCommand | ParseFailure {
  const head = parts[0]?.kind === "text" ? parts[0].text : "";
  const tag = tagOf(head);
  if (!tag) return { status: "BAD", text: "a command starts with a tag, then a space" };
  const c = new Cursor(parts, utf8Names);
  try {
    c.expect(tag);
    c.sp();
    const command = commandBody(c);
    c.end();
    return { tag, command };
  } catch (err) {
    const saves = SAVES_RESULT.test(head) ? { emptiesSavedSearch: true } : {};
    if (err instanceof ParseError) {
      return {
        tag,
        status: err.status,
        text: err.message,
        ...(err.code ? { code: err.code } : {}),
        ...saves,
      };
    }
    return { tag, status: "BAD", text: "the command could not be parsed", ...saves };
  }
}

/** A SEARCH or SORT asking for RETURN (... SAVE ...): refused, it empties `$` (RFC 5182 §2.1). */
const SAVES_RESULT = /^\S+ (UID )?(SEARCH|SORT) RETURN \([^)]*\bSAVE\b/i;

function word(c: Cursor): string {
  let out = "";
  while (/[A-Za-z0-9-]/.test(c.peek())) {
    out += c.peek();
    c.accept(c.peek());
  }
  if (!out) throw new ParseError(`a command name was expected${c.near()}`);
  return out.toUpperCase();
}

type Grammar = (c: Cursor) => Command;

/** Commands that take no arguments. */
const BARE = [
  "CAPABILITY",
  "NOOP",
  "LOGOUT",
  "STARTTLS",
  "NAMESPACE",
  "CHECK",
  "CLOSE",
  "UNSELECT",
  "IDLE",
  "UNAUTHENTICATE",
] as const;

const GRAMMARS: Record<string, Grammar> = {
  ...Object.fromEntries(BARE.map((name) => [name, (): Command => ({ name })])),
  EXPUNGE: () => ({ name: "EXPUNGE", uid: false }),
  ID: (c) => ({ name: "ID", params: idParams(c) }),
  LOGIN: (c) => {
    c.sp();
    const user = c.astring("a user name");
    c.sp();
    return { name: "LOGIN", user, password: c.astring("a password") };
  },
  AUTHENTICATE: (c) => {
    c.sp();
    const mechanism = c.atom("a SASL mechanism").toUpperCase();
    if (c.atEnd()) return { name: "AUTHENTICATE", mechanism };
    c.sp();
    return { name: "AUTHENTICATE", mechanism, initial: c.word("an initial response") };
  },
  ENABLE: (c) => {
    const capabilities: string[] = [];
    do {
      c.sp();
      capabilities.push(c.atom("a capability"));
    } while (!c.atEnd());
    return { name: "ENABLE", capabilities };
  },
  SELECT: (c) => selectCommand(c, "SELECT"),
  EXAMINE: (c) => selectCommand(c, "EXAMINE"),
  CREATE: createCommand,
  DELETE: (c) => oneMailbox(c, "DELETE"),
  SUBSCRIBE: (c) => oneMailbox(c, "SUBSCRIBE"),
  UNSUBSCRIBE: (c) => oneMailbox(c, "UNSUBSCRIBE"),
  RENAME: (c) => {
    c.sp();
    const from = mailbox(c);
    c.sp();
    return { name: "RENAME", from, to: mailbox(c) };
  },
  LIST: listCommand,
  LSUB: (c) => {
    c.sp();
    const reference = c.astring("a reference name");
    c.sp();
    return { name: "LSUB", reference, pattern: listPattern(c) };
  },
  STATUS: statusCommand,
  APPEND: appendCommand,
  SEARCH: (c) => searchCommand(c, false),
  SORT: (c) => sortCommand(c, false),
  THREAD: (c) => threadCommand(c, false),
  FETCH: (c) => fetchCommand(c, false),
  STORE: (c) => storeCommand(c, false),
  COPY: (c) => copyCommand(c, "COPY", false),
  MOVE: (c) => copyCommand(c, "MOVE", false),
  UID: (c) => {
    c.sp();
    const name = word(c);
    const grammar = Object.hasOwn(UID_GRAMMARS, name) ? UID_GRAMMARS[name] : undefined;
    if (!grammar) {
      throw new ParseError(
        `UID ${name} is not a command (UID FETCH, STORE, SEARCH, SORT, THREAD, COPY, MOVE or EXPUNGE)`,
      );
    }
    return grammar(c);
  },
};

const UID_GRAMMARS: Record<string, Grammar> = {
  FETCH: (c) => fetchCommand(c, true),
  STORE: (c) => storeCommand(c, true),
  SEARCH: (c) => searchCommand(c, true),
  SORT: (c) => sortCommand(c, true),
  THREAD: (c) => threadCommand(c, true),
  COPY: (c) => copyCommand(c, "COPY", true),
  MOVE: (c) => copyCommand(c, "MOVE", true),
  EXPUNGE: uidExpungeCommand,
};

function commandBody(c: Cursor): Command {
  const name = word(c);
  const grammar = Object.hasOwn(GRAMMARS, name) ? GRAMMARS[name] : undefined;
  if (!grammar) throw new ParseError(`unknown command ${name}`);
  return grammar(c);
}

function oneMailbox(c: Cursor, name: "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE"): Command {
  c.sp();
  return { name, mailbox: mailbox(c) };
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
