/**
 * Import: messages from an mbox file or a Maildir into one mailbox (created if missing).
 * Bodies are sealed and stored one by one (a few at a time), then added to the mailbox in batches:
 * 10,000 messages are about 100 UidIndex op rows, not 10,000. A batch is also cut at a byte budget,
 * so memory stays bounded whatever the source. Can be run again: a message whose bytes the mailbox
 * already holds (knownMessages.ts) is counted as already there and not added, so a second run of
 * the same file adds nothing and a run after a killed one adds the rest.
 */
import type { Account } from "../account.ts";
import { openMailSource, type MailFormat, type SourceMessage } from "./mailSource.ts";
import type { OnProgress } from "./progress.ts";
import { toCrlfBytes } from "../../mime/index.ts";
import { KnownMessages } from "./knownMessages.ts";

export interface ImportOptions {
  path: string;
  format?: MailFormat;
  /** Target mailbox (default INBOX). */
  mailbox?: string;
  batchSize?: number;
  signal?: AbortSignal;
}

export interface ImportSummary {
  format: MailFormat;
  mailbox: string;
  createdMailbox: boolean;
  /** Messages added by this run. */
  messages: number;
  /** Messages of the source the mailbox already held (the same bytes), not added again. */
  alreadyThere: number;
  bytes: number;
  seconds: number;
}

const BATCH_BYTES = 32 * 1024 * 1024;
/** Messages sealed and stored at once: storage round trips overlap, memory stays small. */
const PARALLEL_ADDS = 4;

export async function importMail(
  account: Account,
  opts: ImportOptions,
  onProgress?: OnProgress,
): Promise<ImportSummary> {
  const started = Date.now();
  const source = await openMailSource(opts.path, opts.format);
  const name = opts.mailbox ?? "INBOX";
  const { mailboxes } = await account.listMailboxes();
  const createdMailbox = !mailboxes.some((m) => m.name === name) && name.toUpperCase() !== "INBOX";
  if (createdMailbox) await account.createMailbox(name);
  const mailbox = await account.mailbox(name);
  const batchSize = opts.batchSize ?? 100;
  const known = await KnownMessages.of(account, mailbox);

  let messages = 0;
  let alreadyThere = 0;
  let bytes = 0;
  let batch: SourceMessage[] = [];
  let batchBytes = 0;
  const report = () =>
    onProgress?.({
      messages,
      bytes,
      elapsedMs: Date.now() - started,
      ...(source.total.messages !== undefined ? { totalMessages: source.total.messages } : {}),
      ...(source.total.bytes !== undefined ? { totalBytes: source.total.bytes } : {}),
    });
  const flush = async () => {
    const added = new Array<{ mailId: string; flags: string[] }>(batch.length);
    for (let i = 0; i < batch.length; i += PARALLEL_ADDS) {
      await Promise.all(
        batch.slice(i, i + PARALLEL_ADDS).map(async (m, j) => {
          const { mailId } = await account.messages.add(m.raw, m.internalDate);
          added[i + j] = { mailId, flags: m.flags };
        }),
      );
    }
    await mailbox.addExisting(added);
    messages += batch.length;
    batch = [];
    batchBytes = 0;
    report();
  };

  let sourceBytes = 0;
  for await (const m of source.messages()) {
    opts.signal?.throwIfAborted();
    sourceBytes = m.bytesRead;
    bytes = source.format === "mbox" ? sourceBytes : bytes + m.raw.length;
    const crlf = toCrlfBytes(m.raw);
    if (await known.seenBefore(crlf)) {
      alreadyThere++;
      continue;
    }
    batch.push({ ...m, raw: crlf });
    batchBytes += crlf.length;
    if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) await flush();
  }
  if (batch.length > 0) await flush();
  report();
  return {
    format: source.format,
    mailbox: name,
    createdMailbox,
    messages,
    alreadyThere,
    bytes,
    seconds: (Date.now() - started) / 1000,
  };
}
