/**
 * `deliver [--mailbox INBOX]`: one message from standard input into the account, with no password.
 * It is sealed to the account's public key as this home pinned it (never as storage serves it:
 * when storage's key root names another key, nothing is delivered), from this home's sender key,
 * and queued as `incoming/<ts>`; the running server's mover files it once the account is unlocked.
 * Beside a running server (which holds the store) the message goes to it over the control socket,
 * raw after the request line, and the server seals and queues it; otherwise the store is opened
 * here and the message sealed and queued directly (`deliverDirect.ts`). A mail host starts this
 * once per message, so the first path loads no storage, sealing or mail module.
 */
import { AppError, TooBig } from "../../errors.ts";
import { callControl } from "../control/controlClient.ts";
import type { DeliverResult } from "../../daemon/control/protocol.ts";
import { CliError, EXIT } from "../exitCodes.ts";
import { openHome, requireSetUp } from "../home.ts";

/** Bigger than any mail a mail host would pass on, small enough to hold in memory. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What `deliver` stores: the message, the mailbox asked for and the INTERNALDATE it gets. */
export interface IncomingMessage {
  mailbox: string;
  internalDate: number;
  raw: Buffer;
}

/**
 * Exit codes a mail fetcher or an MTA's pipe understands (sysexits.h): 75 when storage cannot take
 * the message now (the caller keeps it and tries again), 65 when the input is not a message.
 */
export async function run(flags: { mailbox: string; json?: boolean }): Promise<number> {
  try {
    return await deliver(flags);
  } catch (err) {
    if (err instanceof AppError && err.code === "UNAVAILABLE")
      throw new CliError(`${err.message}. Nothing was delivered: try again later.`, EXIT.tempFail);
    throw err;
  }
}

async function deliver(flags: { mailbox: string; json?: boolean }): Promise<number> {
  const home = await openHome();
  const settings = requireSetUp(home);
  const raw = withoutEnvelopeLine(await readMessage(process.stdin));
  if (raw.length === 0)
    throw new CliError("standard input is empty: `deliver` reads one message from it", EXIT.dataErr);
  if (!/^[\x21-\x39\x3b-\x7e]+:/.test(raw.subarray(0, 1000).toString("latin1")))
    throw new CliError(
      "standard input is not a message: it does not start with a header field (Name: value)",
      EXIT.dataErr,
    );
  const message: IncomingMessage = { mailbox: flags.mailbox, internalDate: Date.now(), raw };

  let result: DeliverResult & { viaServer: boolean };
  const answer = (await callControl(
    home.paths,
    { op: "deliver", mailbox: message.mailbox, internalDate: message.internalDate, bytes: raw.length },
    30_000,
    raw,
  )) as DeliverResult | null;
  if (answer) result = { ...answer, viaServer: true };
  else {
    // Loaded on this path only: beside a running server (a mail host's usual case) no store is
    // opened, nothing is sealed here, and a start of `deliver` skips those modules.
    const { deliverDirectly } = await import("./deliverDirect.ts");
    result = { ...(await deliverDirectly(home.paths, settings, message)), viaServer: false };
  }

  // Only the server, holding the mailbox list, knows where a message went: a mailbox that does not
  // exist means INBOX. Until it is filed, only the mailbox asked for is known.
  const where = result.filedInto;
  if (flags.json)
    process.stdout.write(
      `${JSON.stringify({ requestedMailbox: flags.mailbox, mailbox: where ?? null, ...result })}\n`,
    );
  else if (result.filed)
    process.stdout.write(
      where && where !== flags.mailbox
        ? `Delivered to ${where}: there is no mailbox named ${flags.mailbox}.\n`
        : `Delivered to ${where ?? flags.mailbox}.\n`,
    );
  else
    process.stdout.write(
      `Queued for ${flags.mailbox}${flags.mailbox.toUpperCase() === "INBOX" ? "" : " (INBOX if it does not exist then)"}: ${result.viaServer ? "the server files it at the first login" : "filed when `aerogramme-local start` runs and a client logs in"}.\n`,
    );
  return EXIT.ok;
}

async function readMessage(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += bytes.length;
    if (size > MAX_MESSAGE_BYTES) throw new TooBig(`the message is over ${MAX_MESSAGE_BYTES / 2 ** 20} MiB`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/**
 * Mail hosts that pipe mail to a command often put an mbox "From sender date" line first
 * (Postfix's pipe F flag, procmail): it is envelope, not part of the message (it has no colon,
 * so it is no header either).
 */
function withoutEnvelopeLine(raw: Buffer): Buffer {
  if (!raw.subarray(0, 5).equals(Buffer.from("From "))) return raw;
  const nl = raw.indexOf(0x0a);
  return nl < 0 ? Buffer.alloc(0) : raw.subarray(nl + 1);
}
