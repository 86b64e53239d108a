/**
 * The grammar of the commands about mailboxes (RFC 3501 §6.3): SELECT/EXAMINE with CONDSTORE and
 * QRESYNC (RFC 7162), CREATE with USE (RFC 6154), LIST-EXTENDED (RFC 5258, 5819), STATUS, APPEND.
 */
import type { Cursor } from "./cursor.ts";
import { parseDateTime } from "./dateTime.ts";
import { flagList } from "./flags.ts";
import { existingMailbox, listPattern, mailbox } from "./mailboxArg.ts";
import { ParseError } from "./parseError.ts";
import { parseSequenceSet } from "./sequenceSet.ts";
import type { AppendMessage, Command, SelectParams, StatusItem } from "./types.ts";

/** SELECT or EXAMINE: mailbox [SP "(" params ")"]. */
export function selectCommand(c: Cursor, name: "SELECT" | "EXAMINE"): Command {
  c.sp();
  const box = existingMailbox(c);
  return { name, mailbox: box, params: c.atEnd() ? {} : selectParams(c) };
}

/** CREATE mailbox [SP "(" "USE" SP "(" special-use-attrs ")" ")"]. */
export function createCommand(c: Cursor): Command {
  c.sp();
  const box = mailbox(c);
  if (c.atEnd()) return { name: "CREATE", mailbox: box };
  c.sp();
  c.expect("(");
  c.expect("USE", "USE");
  c.sp();
  const specialUse = flagListLoose(c);
  c.expect(")");
  return { name: "CREATE", mailbox: box, specialUse };
}

/** STATUS mailbox SP "(" items ")". */
export function statusCommand(c: Cursor): Command {
  c.sp();
  const box = existingMailbox(c);
  c.sp();
  return { name: "STATUS", mailbox: box, items: statusItems(c) };
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
  "MAILBOXID",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "HIGHESTMODSEQ",
  "SIZE",
  "DELETED",
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

const SELECTION_OPTIONS = new Set(["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]);
const RETURN_OPTIONS = new Set(["SUBSCRIBED", "CHILDREN", "SPECIAL-USE"]);

export function listCommand(c: Cursor): Command {
  c.sp();
  const selection: string[] = [];
  if (c.accept("(")) {
    while (!c.accept(")")) {
      if (selection.length) c.sp();
      const opt = c.atom("a LIST selection option").toUpperCase();
      // RFC 5258 §3: an option the server does not know is BAD, not ignored.
      if (!SELECTION_OPTIONS.has(opt)) throw new ParseError(`unknown LIST selection option ${opt}`);
      selection.push(opt);
    }
    c.sp();
  }
  // RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) is BAD.
  if (
    selection.includes("RECURSIVEMATCH") &&
    !selection.some((o) => o !== "RECURSIVEMATCH" && o !== "REMOTE")
  )
    throw new ParseError("RECURSIVEMATCH needs another selection option, such as SUBSCRIBED");
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
      } else if (RETURN_OPTIONS.has(opt)) returnOptions.push(opt);
      else throw new ParseError(`unknown LIST return option ${opt}`);
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

/** APPEND mailbox 1*append-message (RFC 3502 §6): each message is [flags] [date-time] literal. */
export function appendCommand(c: Cursor): Command {
  c.sp();
  const box = mailbox(c);
  const messages: AppendMessage[] = [];
  do {
    c.sp();
    messages.push(appendMessage(c));
  } while (!c.atEnd());
  return { name: "APPEND", mailbox: box, messages };
}

function appendMessage(c: Cursor): AppendMessage {
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
  // A literal or, RFC 3516 §4.4, a literal8: the message is stored as sent either way.
  const message = c.accept("UTF8 (") ? utf8AppendData(c) : appendLiteral(c);
  return { flags, ...(date !== undefined ? { date } : {}), message };
}

function appendLiteral(c: Cursor): Buffer {
  if (!c.atLiteral()) throw new ParseError(`the message was expected as a literal${c.near()}`);
  return c.literal();
}

/**
 * RFC 6855 §4: `UTF8 (~{n}...)`, a message whose header may hold UTF-8, stored as sent. Only once
 * the client enabled UTF-8 (UTF8=ACCEPT, or IMAP4rev2). A plain literal inside is taken too.
 */
function utf8AppendData(c: Cursor): Buffer {
  if (!c.utf8Names) throw new ParseError("APPEND UTF8 needs ENABLE UTF8=ACCEPT first (RFC 6855 §4)");
  const message = appendLiteral(c);
  c.expect(")");
  return message;
}
