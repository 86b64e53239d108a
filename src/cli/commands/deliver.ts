/**
 * `deliver [--mailbox INBOX]`: one message from standard input into the account, with no password.
 * It is sealed to the account's public key as this home pinned it (never as storage serves it:
 * when storage's key root names another key, nothing is delivered), from this home's sender key,
 * and queued as `incoming/<ts>`; the running server's mover files it once the account is unlocked.
 * Beside a running server (which holds the store) the sealed message goes through the home's spool
 * folder and the control socket; otherwise the store is opened here and the message queued directly.
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { DeliveryKeyFiles } from "../../config/deliveryKeyFiles.ts";
import { ensurePrivateFolder } from "../../config/privateFolder.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { AppError, TooBig } from "../../errors.ts";
import { callControl } from "../control/controlClient.ts";
import type { DeliverResult } from "../../daemon/control/protocol.ts";
import { CliError, EXIT } from "../exitCodes.ts";
import { openHome, requireSetUp } from "../home.ts";
import { spoolDir } from "../../daemon/control/protocol.ts";
import { INCOMING_PREFIX, sealDelivery } from "../../mail/incoming/deliveryBox.ts";
import { checkServedKey, deliveryPublicKey, homeSender } from "../../mail/incoming/deliveryKeys.ts";
import { enqueueDelivery, newIncomingKey } from "../../mail/incoming/incomingQueue.ts";

/** Bigger than any mail a mail host would pass on, small enough to hold in memory. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

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
  const delivery = { mailbox: flags.mailbox, internalDate: Date.now(), raw };
  const deliveryKeys = new DeliveryKeyFiles(home.paths);
  const sender = await homeSender(deliveryKeys);

  let result: DeliverResult & { viaServer: boolean };
  const served = (await callControl(home.paths, { op: "incomingKey" })) as {
    publicKey: string;
  } | null;
  if (served) {
    await loadSodium();
    // The server checked storage's key root against the pin; the pin is what is sealed to.
    const publicKey = await checkServedKey(deliveryKeys, Buffer.from(served.publicKey, "base64"));
    const key = newIncomingKey();
    const name = key.slice(INCOMING_PREFIX.length);
    const sealed = sealDelivery(publicKey, key, delivery, sender);
    const file = join(spoolDir(home.paths), name);
    // Sealed already, but a file another user could swap would be queued as ours: a private folder.
    await ensurePrivateFolder(spoolDir(home.paths), { what: "the spool folder", followLinks: false });
    const handle = await open(file, "wx", 0o600);
    try {
      await handle.writeFile(sealed);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      const answer = (await callControl(home.paths, {
        op: "deliver",
        spool: name,
      })) as DeliverResult | null;
      if (!answer)
        throw new CliError("the running server stopped while delivering; run `deliver` again", EXIT.tempFail);
      result = { ...answer, viaServer: true };
    } finally {
      await rm(file, { force: true });
    }
  } else {
    // Loaded on this path only: beside a running server (a mail host's usual case) no store is
    // opened, and a start of `deliver` skips the storage modules.
    const { openHomeStore } = await import("../../daemon/homeStore.ts");
    const store = await openHomeStore(home.paths, settings);
    try {
      const publicKey = await deliveryPublicKey(store, deliveryKeys);
      const queued = await enqueueDelivery(store, delivery, publicKey, sender);
      result = { queued, filed: false, moverRunning: false, viaServer: false };
    } finally {
      await store.close();
    }
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
