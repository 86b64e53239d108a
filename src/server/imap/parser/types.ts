/**
 * The typed IMAP commands the parser produces (RFC 3501 §6 and the extensions we announce). The
 * server's command handlers take these; they never see raw bytes. Mailbox names are already decoded
 * from modified UTF-7 to Unicode, with INBOX (any case) normalised to "INBOX".
 */

/** One element of a sequence set; `*` is Infinity. A range keeps the order it was written in. */
export type SeqRange = { from: number; to: number };
/** A sequence set (RFC 3501 §9 sequence-set), or `$` (RFC 5182 saved search result). */
export type SequenceSet = { ranges: SeqRange[] } | { saved: true };

export type StoreMode = "set" | "add" | "remove";

/** A section spec inside BODY[...] (RFC 3501 §6.4.5). */
export interface Section {
  /** Part numbers, e.g. [1, 2] for "1.2"; empty for the whole message. */
  part: number[];
  /** Undefined for the whole part (BODY[] or BODY[1.2]). */
  text?: "HEADER" | "TEXT" | "MIME" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT";
  /** Field names for HEADER.FIELDS / HEADER.FIELDS.NOT, as written (case kept). */
  fields?: string[];
}

export type FetchAttribute =
  | { kind: "UID" }
  | { kind: "FLAGS" }
  | { kind: "INTERNALDATE" }
  | { kind: "RFC822.SIZE" }
  | { kind: "ENVELOPE" }
  | { kind: "BODYSTRUCTURE" }
  /** BODY without brackets: the non-extensible BODYSTRUCTURE. */
  | { kind: "BODY" }
  | { kind: "MODSEQ" }
  /** RFC 8514 SAVEDATE. */
  | { kind: "SAVEDATE" }
  /** RFC 8474 OBJECTID. */
  | { kind: "EMAILID" }
  | { kind: "THREADID" }
  | { kind: "RFC822" }
  | { kind: "RFC822.HEADER" }
  | { kind: "RFC822.TEXT" }
  /** BODY[section]<partial> or BODY.PEEK[...]. */
  | { kind: "BODY[]"; peek: boolean; section: Section; partial?: { offset: number; length: number } }
  /** RFC 3516: BINARY[part]<partial> or BINARY.PEEK[...]: the part with its transfer encoding undone. */
  | { kind: "BINARY"; peek: boolean; part: number[]; partial?: { offset: number; length: number } }
  | { kind: "BINARY.SIZE"; part: number[] }
  /** RFC 8970 PREVIEW; with (LAZY), NIL rather than reading the body for it. */
  | { kind: "PREVIEW"; lazy: boolean };

export interface FetchModifiers {
  changedSince?: number;
  /** QRESYNC: VANISHED modifier (only valid with UID FETCH and CHANGEDSINCE). */
  vanished?: boolean;
}

/** SEARCH keys (RFC 3501 §6.4.4, RFC 7162 MODSEQ). Dates are midnight UTC of the given day, in ms. */
export type SearchKey =
  | { kind: "ALL" }
  | { kind: "ANSWERED" | "DELETED" | "DRAFT" | "FLAGGED" | "NEW" | "OLD" | "RECENT" | "SEEN" }
  | { kind: "UNANSWERED" | "UNDELETED" | "UNDRAFT" | "UNFLAGGED" | "UNSEEN" }
  | { kind: "KEYWORD" | "UNKEYWORD"; flag: string }
  | { kind: "BCC" | "CC" | "FROM" | "SUBJECT" | "TO" | "BODY" | "TEXT"; value: string }
  | { kind: "HEADER"; field: string; value: string }
  | { kind: "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE"; date: number }
  /** RFC 8514: by the save date (when the message was added to this mailbox). */
  | { kind: "SAVEDBEFORE" | "SAVEDON" | "SAVEDSINCE"; date: number }
  | { kind: "SAVEDATESUPPORTED" }
  | { kind: "LARGER" | "SMALLER"; size: number }
  /** RFC 5032 WITHIN: the internal date is within (YOUNGER) or before (OLDER) the last n seconds. */
  | { kind: "YOUNGER" | "OLDER"; seconds: number }
  /** RFC 8474 §6: by object id; rewritten to a UID set before matching (commands/searchObjectId.ts). */
  | { kind: "EMAILID" | "THREADID"; id: string }
  | { kind: "UID"; set: SequenceSet }
  | { kind: "SEQ"; set: SequenceSet }
  | { kind: "NOT"; key: SearchKey }
  | { kind: "OR"; left: SearchKey; right: SearchKey }
  /** A parenthesised list, or the implicit AND of the top level. */
  | { kind: "AND"; keys: SearchKey[] }
  | { kind: "MODSEQ"; modseq: number };

/** One SORT criterion (RFC 5256 §3); `reverse` when REVERSE stood before it. */
export interface SortCriterion {
  key: "ARRIVAL" | "CC" | "DATE" | "FROM" | "SIZE" | "SUBJECT" | "TO";
  reverse: boolean;
}

export type ThreadAlgorithm = "ORDEREDSUBJECT" | "REFERENCES";

export type SearchReturn = "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE";

export type StatusItem =
  | "MESSAGES"
  | "RECENT"
  | "UIDNEXT"
  | "UIDVALIDITY"
  | "UNSEEN"
  | "HIGHESTMODSEQ"
  | "SIZE"
  | "MAILBOXID"
  | "DELETED";

/** LIST (RFC 3501, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE). */
export interface ListCommand {
  name: "LIST";
  /** Selection options: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE (upper case). */
  selection: string[];
  reference: string;
  /** One or more patterns (decoded from mUTF-7, wildcards * and % kept). */
  patterns: string[];
  /** Return options: SUBSCRIBED, CHILDREN, SPECIAL-USE (upper case). */
  returnOptions: string[];
  /** RETURN (STATUS (...)). */
  returnStatus?: StatusItem[];
}

/** One message of an APPEND: its flags, date-time and bytes (the literal's). */
export interface AppendMessage {
  flags: string[];
  date?: number;
  message: Uint8Array;
}

export interface SelectParams {
  condstore?: boolean;
  qresync?: {
    uidvalidity: number;
    modseq: number;
    knownUids?: SequenceSet;
    seqMatch?: { seqs: SequenceSet; uids: SequenceSet };
  };
}

export type Command =
  // any state
  | { name: "CAPABILITY" }
  | { name: "NOOP" }
  | { name: "LOGOUT" }
  | { name: "ID"; params: Record<string, string | null> | null }
  // not authenticated
  | { name: "STARTTLS" }
  | { name: "LOGIN"; user: string; password: string }
  /** AUTHENTICATE mech [initial-response]; initial is the base64 text, "=" for empty. */
  | { name: "AUTHENTICATE"; mechanism: string; initial?: string }
  // authenticated
  | { name: "ENABLE"; capabilities: string[] }
  | { name: "SELECT" | "EXAMINE"; mailbox: string; params: SelectParams }
  | { name: "CREATE"; mailbox: string; specialUse?: string[] }
  | { name: "DELETE"; mailbox: string }
  | { name: "RENAME"; from: string; to: string }
  | { name: "SUBSCRIBE" | "UNSUBSCRIBE"; mailbox: string }
  | ListCommand
  | { name: "LSUB"; reference: string; pattern: string }
  | { name: "NAMESPACE" }
  /** RFC 8437: back to the not-authenticated state. */
  | { name: "UNAUTHENTICATE" }
  | { name: "STATUS"; mailbox: string; items: StatusItem[] }
  /**
   * APPEND, with one message or several (RFC 3502 MULTIAPPEND: all are stored, or none). Literals
   * are bounded by the parser's appendLimit (a larger one is refused with NO [TOOBIG] before its
   * bytes are read, or skipped for LITERAL+).
   */
  | { name: "APPEND"; mailbox: string; messages: AppendMessage[] }
  | { name: "IDLE" }
  // selected
  | { name: "CHECK" }
  | { name: "CLOSE" }
  | { name: "UNSELECT" }
  | { name: "EXPUNGE"; uid: boolean; uids?: SequenceSet }
  | { name: "SEARCH"; uid: boolean; charset?: string; returns?: SearchReturn[]; key: SearchKey }
  | {
      name: "SORT";
      uid: boolean;
      criteria: SortCriterion[];
      charset: string;
      key: SearchKey;
      /** RFC 5267 ESORT: RETURN options; the answer is then an ESEARCH. */
      returns?: SearchReturn[];
    }
  | { name: "THREAD"; uid: boolean; algorithm: ThreadAlgorithm; charset: string; key: SearchKey }
  | {
      name: "FETCH";
      uid: boolean;
      set: SequenceSet;
      attributes: FetchAttribute[];
      macro?: "ALL" | "FAST" | "FULL";
      modifiers: FetchModifiers;
    }
  | {
      name: "STORE";
      uid: boolean;
      set: SequenceSet;
      mode: StoreMode;
      silent: boolean;
      flags: string[];
      unchangedSince?: number;
    }
  | { name: "COPY" | "MOVE"; uid: boolean; set: SequenceSet; mailbox: string };

export type CommandName = Command["name"];

/** A parsed command line with its tag. */
export interface TaggedCommand {
  tag: string;
  command: Command;
}

/**
 * A command the parser could not understand. `tag` is present when the line started with a
 * valid tag (the answer is then `tag BAD text`, else `* BAD text`). `fatal` means the byte stream
 * can no longer be framed (e.g. a literal too large to skip) and the connection must close after
 * the answer.
 */
export interface ParseFailure {
  tag?: string;
  status: "BAD" | "NO";
  code?: string;
  text: string;
  fatal?: boolean;
  /** The refused command asked to SAVE its result: `$` becomes empty (RFC 5182 §2.1). */
  emptiesSavedSearch?: boolean;
}
