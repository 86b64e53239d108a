/**
 * Import: messages from an mbox file or a Maildir into one mailbox (created if missing).
 * Bodies are sealed and stored one by one (a few at a time), then added to the mailbox in batches:
 * 10,000 messages are about 100 UidIndex op rows, not 10,000. A batch is also cut at a byte budget,
 * so memory stays bounded whatever the source. Can be run again: a message whose bytes the mailbox
 * already holds (knownMessages.ts) is counted as already there and not added, so a second run of
 * the same file adds nothing and a run after a killed one adds the rest. A Maildir's Maildir++
 * subfolders (`.Work.2024/`) go into mailboxes of their own (`Work/2024`, under the target mailbox
 * unless that is INBOX, the Maildir++ root).
 */
import type { Account } from "../account.ts";
import {
  maildirSubfolders,
  openMailSource,
  type MailFormat,
  type MailSource,
  type SourceMessage,
} from "./mailSource.ts";
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
  /** What was not imported, with where it is in the source and why. */
  skipped: { where: string; reason: string }[];
  /** A Maildir's Maildir++ subfolders (`.Folder.Sub/`), each imported into a mailbox of its own. */
  folders: { mailbox: string; createdMailbox: boolean; messages: number; alreadyThere: number }[];
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
  const subfolders = source.format === "maildir" ? await maildirSubfolders(opts.path) : [];
  const progress: Progress = { messages: 0, bytes: 0, started, onProgress, skipped: [] };
  if (source.total.messages !== undefined)
    progress.totalMessages = (
      await Promise.all(
        subfolders.map(async (f) => (await openMailSource(f.path, "maildir")).total.messages ?? 0),
      )
    ).reduce((a, b) => a + b, source.total.messages);
  else if (source.total.bytes !== undefined) progress.totalBytes = source.total.bytes;
  const main = await importSource(account, source, name, opts, progress);
  const folders: ImportSummary["folders"] = [];
  for (const folder of subfolders) {
    const mailbox = name.toUpperCase() === "INBOX" ? folder.name : `${name}/${folder.name}`;
    const counts = await importSource(
      account,
      await openMailSource(folder.path, "maildir"),
      mailbox,
      opts,
      progress,
    );
    folders.push({ mailbox, ...counts });
  }
  report(progress);
  return {
    format: source.format,
    mailbox: name,
    createdMailbox: main.createdMailbox,
    messages: main.messages,
    alreadyThere: main.alreadyThere,
    skipped: progress.skipped,
    folders,
    bytes: progress.bytes,
    seconds: (Date.now() - started) / 1000,
  };
}

interface Progress {
  messages: number;
  bytes: number;
  totalMessages?: number;
  totalBytes?: number;
  started: number;
  onProgress: OnProgress | undefined;
  skipped: { where: string; reason: string }[];
}

/** Why these bytes cannot be stored as a message, or undefined when they can. */
function notAMessage(crlf: Uint8Array): string | undefined {
  if (crlf.length === 0) return "empty: no message between two From lines";
  const start = Buffer.from(crlf.buffer, crlf.byteOffset, Math.min(crlf.byteLength, 1000)).toString("latin1");
  if (!/^[\x21-\x39\x3b-\x7e]+:/.test(start))
    return "not a message: it does not start with a header field (Name: value)";
  return undefined;
}

function report(p: Progress): void {
  p.onProgress?.({
    messages: p.messages,
    bytes: p.bytes,
    elapsedMs: Date.now() - p.started,
    ...(p.totalMessages !== undefined ? { totalMessages: p.totalMessages } : {}),
    ...(p.totalBytes !== undefined ? { totalBytes: p.totalBytes } : {}),
  });
}

/** One source into one mailbox (created if missing); counts added and already there. */
async function importSource(
  account: Account,
  source: MailSource,
  name: string,
  opts: ImportOptions,
  progress: Progress,
): Promise<{ createdMailbox: boolean; messages: number; alreadyThere: number }> {
  const { mailboxes } = await account.listMailboxes();
  const createdMailbox = !mailboxes.some((m) => m.name === name) && name.toUpperCase() !== "INBOX";
  if (createdMailbox) await account.createMailbox(name);
  const mailbox = await account.mailbox(name);
  const batchSize = opts.batchSize ?? 100;
  const known = await KnownMessages.of(account, mailbox);

  let messages = 0;
  let alreadyThere = 0;
  let batch: SourceMessage[] = [];
  let batchBytes = 0;
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
    progress.messages += batch.length;
    batch = [];
    batchBytes = 0;
    report(progress);
  };

  const bytesBefore = progress.bytes;
  for await (const m of source.messages()) {
    opts.signal?.throwIfAborted();
    progress.bytes = source.format === "mbox" ? bytesBefore + m.bytesRead : progress.bytes + m.raw.length;
    const crlf = toCrlfBytes(m.raw);
    const bad = notAMessage(crlf);
    if (bad) {
      progress.skipped.push({ where: m.where, reason: bad });
      continue;
    }
    if (await known.seenBefore(crlf)) {
      alreadyThere++;
      continue;
    }
    batch.push({ ...m, raw: crlf });
    batchBytes += crlf.length;
    if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) await flush();
  }
  if (batch.length > 0) await flush();
  // The facts of the full ranges of 1,000 UIDs are all here: shared for a second computer's list
  // (sharedListView.ts), before this returns (an `import` process ends right after).
  const shared = account.messages.sharedList;
  if (shared && messages > 0) {
    await shared.fill(mailbox);
    await shared.share(mailbox);
  }
  return { createdMailbox, messages, alreadyThere };
}
