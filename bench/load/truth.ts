/**
 * What every load client was told, shared by all of them: per mailbox the clients work on, the
 * messages whose APPEND was acknowledged (UID, body, owner), each message's flag history as its
 * owner set it, and the expunges asked for and acknowledged. Only a message's owner changes its
 * flags or expunges it, so the owner knows its exact flags, and any other client knows the few flag
 * sets it may see.
 */

export interface KnownMessage {
  uid: number;
  owner: number;
  body: Buffer;
  messageId: string;
  /** The owner's current flags, sorted, as it last set them (no \Recent). */
  flags: string[];
  /** Every flag set (sorted, joined by a space) the message has had or is being given. */
  history: Set<string>;
  /** performance.now() when the APPEND was acknowledged. */
  ackedAt: number;
  /** When the owner sent its expunge; when it was acknowledged. */
  expungeSentAt?: number;
  expungeAckedAt?: number;
  /**
   * A flag change of the owner's was cut off by a server crash before its answer: it may or may
   * not have been stored, so the owner too sees one of the sets in `history`.
   */
  flagsUncertain?: boolean;
}

export type CheckKind =
  | "uid-reused"
  | "uid-order"
  | "unknown-uid"
  | "seq-map"
  | "exists-shrank"
  | "expunge-unasked"
  | "lost"
  | "resurrected"
  | "flags"
  | "modseq-back"
  | "body"
  | "header"
  | "protocol";

export interface CheckError {
  kind: CheckKind;
  client: number;
  detail: string;
}

export const flagKey = (flags: readonly string[]): string =>
  [...flags]
    .filter((f) => f.toLowerCase() !== "\\recent")
    .sort()
    .join(" ");

/**
 * One mailbox's messages by UID (UIDs are per mailbox, RFC 3501 §2.3.1.1), every one ever
 * acknowledged, and apart those whose expunge nobody has sent yet: a client's full check walks
 * those, not the whole history (which grew with the run: 44,000 messages after 10 minutes).
 */
export class MailboxTruth extends Map<number, KnownMessage> {
  readonly unexpunged = new Set<KnownMessage>();

  /** Its owner sends an expunge (or a MOVE) of `m`. */
  expungeSent(m: KnownMessage): void {
    m.expungeSentAt = performance.now();
    this.unexpunged.delete(m);
  }

  /** The expunge of `m` was acknowledged: its body is never compared again (see LoadClient.fetched). */
  expungeAcked(m: KnownMessage): void {
    m.expungeAckedAt = performance.now();
    m.body = Buffer.alloc(0);
  }
}

export class Truth {
  private readonly mailboxes = new Map<string, MailboxTruth>();
  readonly errors: CheckError[] = [];
  /** Keywords in a FETCH that the session's FLAGS had not announced (issue 14's bug), counted apart. */
  unannouncedKeywords = 0;
  readonly unannouncedSamples: string[] = [];
  /** UIDs COPY and MOVE were given in the archive mailbox (never twice). */
  readonly archiveUids = new Set<number>();
  /** The server is being killed and started again (the soak): connections drop meanwhile. */
  restarting = false;
  restarts = 0;
  private readonly maxErrorsKept: number;

  constructor(maxErrorsKept = 200) {
    this.maxErrorsKept = maxErrorsKept;
  }

  fail(kind: CheckKind, client: number, detail: string): void {
    if (this.errors.length < this.maxErrorsKept) this.errors.push({ kind, client, detail });
    else this.errors.push({ kind, client, detail: "" }); // counted, not kept
  }

  unannounced(client: number, keyword: string): void {
    this.unannouncedKeywords++;
    if (this.unannouncedSamples.length < 5) this.unannouncedSamples.push(`client ${client}: ${keyword}`);
  }

  /** The messages of one mailbox (an empty map for one nobody appended to yet). */
  mailbox(name: string): MailboxTruth {
    let messages = this.mailboxes.get(name);
    if (!messages) this.mailboxes.set(name, (messages = new MailboxTruth()));
    return messages;
  }

  /** An APPEND to `mailbox` was acknowledged with this UID. */
  appended(
    mailbox: string,
    client: number,
    uid: number,
    body: Buffer,
    messageId: string,
    flags: string[],
  ): void {
    const messages = this.mailbox(mailbox);
    const before = messages.get(uid);
    if (before) {
      this.fail("uid-reused", client, `APPENDUID ${uid} was already given to client ${before.owner}`);
      return;
    }
    const key = flagKey(flags);
    const message: KnownMessage = {
      uid,
      owner: client,
      body,
      messageId,
      flags: key ? key.split(" ") : [],
      history: new Set([key]),
      ackedAt: performance.now(),
    };
    messages.set(uid, message);
    messages.unexpunged.add(message);
  }

  /** Errors by kind, for the report. */
  errorCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.errors) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    return counts;
  }
}
