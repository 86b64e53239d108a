/**
 * What indexing a message at append time produces: plain JSON-able data that goes into sealed meta,
 * from which FETCH (ENVELOPE, BODYSTRUCTURE, BODY, BODY[section], RFC822.SIZE) is served without
 * reading the message again.
 *
 * Header-derived text is a ByteString: one char per byte (latin-1 decoding of the raw bytes), so
 * 8-bit headers survive exactly and IMAP gets the raw octets back, as RFC 3501 wants (ENVELOPE and
 * BODYSTRUCTURE carry header values undecoded). Turn one into bytes with Buffer.from(s, "latin1").
 */
export type ByteString = string;

/** An RFC 822 address as IMAP's ENVELOPE lists it (RFC 3501 §7.4.2). */
export interface EnvelopeAddress {
  name: ByteString | null;
  /** Source route ("@a,@b"), obsolete but kept. */
  route: ByteString | null;
  /** Local part; for a group start it is the group name (domain null); null/null/null/null ends a group. */
  mailbox: ByteString | null;
  domain: ByteString | null;
}

/**
 * The ENVELOPE fields as read from a header block. Strings are raw header values (folding kept as
 * LF, leading whitespace dropped); null where the header is absent. Sender and Reply-To are stored as
 * found: the serialiser substitutes From when they are absent (RFC 3501 §7.4.2).
 */
export interface Envelope {
  date: ByteString | null;
  subject: ByteString | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: ByteString | null;
  messageId: ByteString | null;
}

export interface MimeParam {
  name: ByteString;
  value: ByteString;
}

/**
 * The Content-* data of one part, as Dovecot keeps it: values as written (case kept), parameters in
 * header order with RFC 2231 continuations merged but not decoded. All null when the part has no
 * Content-* header, or when a top-level message without MIME-Version or Content-Type has some.
 */
export interface ContentData {
  /** null: no (usable) Content-Type header. type and subtype may be "" when it is malformed. */
  type: ByteString | null;
  subtype: ByteString | null;
  params: MimeParam[];
  id: ByteString | null;
  description: ByteString | null;
  encoding: ByteString | null;
  md5: ByteString | null;
  disposition: ByteString | null;
  dispositionParams: MimeParam[];
  language: ByteString[] | null;
  location: ByteString | null;
}

/**
 * How the parser treats a part: multipart (has children), message (message/rfc822: one child, the
 * embedded message), text (text/*: BODYSTRUCTURE carries a line count) or basic.
 */
export type PartKind = "multipart" | "message" | "text" | "basic";

/**
 * One node of the MIME tree. A message/rfc822 part has exactly one child: the embedded message
 * (its own header and body). Offsets are byte offsets into the message as indexed.
 */
export interface MimePart {
  /**
   * The IMAP part number (RFC 3501 §6.4.5) that names this node as a body part, or null where none
   * does: a multipart top-level message, and a multipart message embedded in a message/rfc822 part
   * (those are reached as HEADER/TEXT of their parent). A non-multipart top-level message is "1".
   */
  section: string | null;
  kind: PartKind;
  /** The header block is [headerStart, bodyStart): BODY[<section>.MIME], or HEADER of a message. */
  headerStart: number;
  bodyStart: number;
  /** The body is [bodyStart, bodyEnd): BODY[<section>], or TEXT of a message. */
  bodyEnd: number;
  /** Body size in octets as RFC 822 counts it (a bare LF counts as CRLF), as BODYSTRUCTURE gives it. */
  size: number;
  /** Number of lines in the body (LF count). */
  lines: number;
  content: ContentData;
  /** Set on the embedded message of a message/rfc822 part (its ENVELOPE). */
  envelope: Envelope | null;
  children: MimePart[];
}

export interface MessageIndex {
  /** Format version of this structure, for sealed meta written by older code. */
  version: 1;
  /** RFC822.SIZE: octets, counting a bare LF as CRLF. */
  size: number;
  /** Bytes of the input, for offsets (equals size when the input has CRLF line ends). */
  physicalSize: number;
  /** The top-level header block, exactly as received (blank line included when there is one). */
  header: ByteString;
  envelope: Envelope;
  /** The top-level message: headers [0, bodyStart), body to the end. */
  root: MimePart;
}
