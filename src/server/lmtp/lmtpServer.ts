/**
 * LMTP (RFC 2033) on loopback, through smtp-server in LMTP mode: the mail host's MTA hands over
 * each message and gets one reply per recipient. This file speaks the protocol and maps
 * recipients to mailboxes; what a delivery does (seal to the account's public key, queue in
 * storage) is the `deliver` function the daemon gives it, so the server layer stays above storage.
 *
 * Replies: an unknown recipient is 550 at RCPT; a message over the size limit is 552 (SIZE is
 * announced); a message that is not one (no header) is 554; anything that goes wrong storing it
 * is 451, so the MTA keeps the mail and tries again.
 */
import type { Readable } from "node:stream";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import type { Log } from "../../log.ts";
import { lmtpRecipient } from "./recipients.ts";

export interface LmtpDelivery {
  /** The mailbox asked for (`user+Folder`): the mover files into INBOX when it does not exist. */
  mailbox: string;
  raw: Buffer;
  internalDate: number;
}

export interface LmtpOptions {
  host: string;
  port: number;
  /** The account's login name: the local part (before any `+`) recipients must have. */
  user: string;
  /** Messages larger than this are refused with 552 (announced as SIZE). */
  maxBytes: number;
  deliver(delivery: LmtpDelivery): Promise<void>;
  log: Log;
}

export interface LmtpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

/** A reply to one recipient after DATA: a string is 250, an Error carries its code. */
function failure(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startLmtpServer(opts: LmtpOptions): Promise<LmtpServer> {
  const server = new SMTPServer({
    lmtp: true,
    banner: "aerogramme-local ready",
    size: opts.maxBytes,
    rejectOversized: true,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    hideSTARTTLS: true,
    // No reverse lookups: loopback only, and each one could stall a delivery.
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address, _session, callback) {
      if (lmtpRecipient(address.address, opts.user)) callback();
      else callback(failure(550, `5.1.1 <${address.address}>: no such user here`));
    },
    onData(stream, session, callback) {
      readAll(stream, opts.maxBytes)
        // Over the limit: smtp-server replies 552 to every recipient whatever is answered here.
        .then((body) => (body ? deliverAll(opts, session, body) : []))
        .then(
          (replies) => callback(null, replies),
          (err: unknown) => callback(failure(451, `4.3.0 ${String(err)}`)),
        );
    },
  });
  server.on("error", (err) => opts.log("warn", `LMTP: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.server.off("error", reject);
      resolve();
    });
  });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    address: { host: opts.host, port },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The whole message, or null when it goes over `max` (read to the end, not kept). */
async function readAll(stream: Readable, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size <= max) chunks.push(chunk as Buffer);
  }
  return size > max ? null : Buffer.concat(chunks);
}

/** One reply per accepted recipient, in their order: each is a delivery of its own. */
async function deliverAll(
  opts: LmtpOptions,
  session: SMTPServerSession,
  body: Buffer,
): Promise<(string | Error)[]> {
  const recipients = session.envelope.rcptTo;
  if (!hasHeader(body))
    return recipients.map(() => failure(554, "5.6.0 this is not a message: it has no header"));
  const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
  // RFC 5321 §4.4: the final delivery records the envelope sender.
  const raw = Buffer.concat([Buffer.from(`Return-Path: <${from}>\r\n`), body]);
  const internalDate = Date.now();
  const replies: (string | Error)[] = [];
  for (const rcpt of recipients) {
    const mailbox = lmtpRecipient(rcpt.address, opts.user)?.mailbox ?? "INBOX";
    try {
      await opts.deliver({ mailbox, raw, internalDate });
      replies.push(`2.0.0 <${rcpt.address}> delivered`);
    } catch (err) {
      opts.log("warn", `LMTP: delivery to ${rcpt.address} failed, the MTA will retry: ${String(err)}`);
      replies.push(failure(451, `4.3.0 <${rcpt.address}> not stored now, try again later`));
    }
  }
  return replies;
}

/** A message starts with a header field (name, colon); an empty or headerless body is not one. */
function hasHeader(body: Buffer): boolean {
  return /^[\x21-\x39\x3b-\x7e]+:/.test(body.subarray(0, 1000).toString("latin1"));
}
