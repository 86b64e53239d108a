/**
 * Export: every mailbox (or one) as mbox files or Maildirs, flags in Maildir file names, the
 * internal date in the mbox separator line and as the Maildir file's mtime. Messages are written
 * with LF line ends (the on-disk convention of mbox and Maildir; the store keeps CRLF). Keywords
 * have no place in either format and are counted as dropped.
 *
 * Layout: with `mailbox`, PATH is the mbox file or the Maildir itself. Without, PATH is a folder
 * holding one `<name>.mbox` or one Maildir `<name>/` per mailbox, the name percent-encoded where it
 * is not a safe file name ("Lists/rust" -> "Lists%2Frust"). Nothing existing is overwritten.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { AlreadyExists, NotFound } from "../../errors.ts";
import type { Account } from "../account.ts";
import type { Mailbox } from "../mailbox.ts";
import type { MessageMeta } from "../metaCodec.ts";
import { maildirInfo } from "./maildirFlags.ts";
import type { MailFormat } from "./mailSource.ts";
import { mboxEntry } from "./mboxFormat.ts";
import type { OnProgress } from "./progress.ts";

export interface ExportOptions {
  path: string;
  format?: MailFormat;
  mailbox?: string;
  signal?: AbortSignal;
}

export interface ExportSummary {
  format: MailFormat;
  mailboxes: { name: string; messages: number; path: string }[];
  messages: number;
  bytes: number;
  /** Messages whose keywords could not be written (the formats have no place for them). */
  droppedKeywords: number;
  seconds: number;
}

const META_BATCH = 100;

/** The format when not given: Maildir, unless PATH names an mbox (an existing file or *.mbox). */
// A path that cannot be stat'ed counts as absent here; writing to it fails later with its own error.
export async function guessExportFormat(path: string): Promise<MailFormat> {
  const info = await stat(path).catch(() => null);
  if (info?.isFile() || /\.(mbox|mbx)$/i.test(path)) return "mbox";
  return "maildir";
}

/** A mailbox name as one safe file name: letters, digits, space, "_-.+,@" kept, the rest %XX. */
export function mailboxFileName(name: string): string {
  const safe = Array.from(Buffer.from(name, "utf8"))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9 _\-.+,@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
  // A leading dot would hide the file, and would read as a Maildir++ subfolder.
  return safe.startsWith(".") ? `%2E${safe.slice(1)}` : safe;
}

async function mustBeFree(path: string, folder: boolean): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info) return;
  if (folder && info.isDirectory() && (await readdir(path)).length === 0) return;
  throw new AlreadyExists(`${path} already exists: export writes only to a new path (or an empty folder)`);
}

export async function exportMail(
  account: Account,
  opts: ExportOptions,
  onProgress?: OnProgress,
): Promise<ExportSummary> {
  const started = Date.now();
  const format = opts.format ?? (await guessExportFormat(opts.path));
  const { mailboxes } = await account.listMailboxes();
  const names = opts.mailbox !== undefined ? [opts.mailbox] : mailboxes.map((m) => m.name);
  if (opts.mailbox !== undefined && !mailboxes.some((m) => m.name === opts.mailbox))
    throw new NotFound(
      `mailbox "${opts.mailbox}" does not exist (\`aerogramme-local status --password-stdin\` lists them)`,
    );

  const opened: { name: string; mailbox: Mailbox; path: string }[] = [];
  for (const name of names) {
    const mailbox = await account.mailbox(name);
    await mailbox.sync();
    const path =
      opts.mailbox !== undefined
        ? opts.path
        : join(opts.path, format === "mbox" ? `${mailboxFileName(name)}.mbox` : mailboxFileName(name));
    opened.push({ name, mailbox, path });
  }
  if (opts.mailbox === undefined) {
    await mustBeFree(opts.path, true);
    await mkdir(opts.path, { recursive: true, mode: 0o700 });
  } else await mustBeFree(opts.path, format === "maildir");

  const totalMessages = opened.reduce((n, o) => n + o.mailbox.index.uids.length, 0);
  const summary: ExportSummary = {
    format,
    mailboxes: [],
    messages: 0,
    bytes: 0,
    droppedKeywords: 0,
    seconds: 0,
  };
  const report = () =>
    onProgress?.({
      messages: summary.messages,
      bytes: summary.bytes,
      totalMessages,
      elapsedMs: Date.now() - started,
    });

  for (const { name, mailbox, path } of opened) {
    const writer = format === "mbox" ? await mboxWriter(path) : await maildirWriter(path);
    let count = 0;
    try {
      const entries = mailbox.index.uids.map((uid) => mailbox.index.byUid.get(uid)!);
      for (let i = 0; i < entries.length; i += META_BATCH) {
        opts.signal?.throwIfAborted();
        const slice = entries.slice(i, i + META_BATCH);
        const metas = await account.messages.getMeta(slice.map((e) => e.id));
        for (const entry of slice) {
          const meta = metas.get(entry.id);
          if (!meta) continue; // expunged since the index was read
          const raw = await account.messages.body(meta);
          const { dropped } = maildirInfo(entry.flags);
          if (dropped.length > 0) summary.droppedKeywords += 1;
          await writer.write(raw, meta, entry.flags, entry.uid);
          count += 1;
          summary.messages += 1;
          summary.bytes += raw.length;
        }
        report();
      }
    } finally {
      await writer.close();
    }
    summary.mailboxes.push({ name, messages: count, path });
  }
  report();
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

interface MailWriter {
  write(raw: Uint8Array, meta: MessageMeta, flags: string[], uid: number): Promise<void>;
  close(): Promise<void>;
}

async function mboxWriter(path: string): Promise<MailWriter> {
  const out = createWriteStream(path, { flags: "wx", mode: 0o600 });
  await once(out, "open");
  return {
    async write(raw, meta) {
      if (!out.write(mboxEntry(raw, meta.internalDate))) await once(out, "drain");
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        out.once("error", reject);
        out.end(() => resolve());
      }),
  };
}

/** LF line ends for a file on disk. */
function toLf(raw: Uint8Array): Buffer {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = Buffer.alloc(text.length);
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === 0x0d && text[i + 1] === 0x0a) continue;
    out[j++] = text[i]!;
  }
  return out.subarray(0, j);
}

async function maildirWriter(path: string): Promise<MailWriter> {
  for (const sub of ["tmp", "new", "cur"]) await mkdir(join(path, sub), { recursive: true, mode: 0o700 });
  const host = hostname().replace(/[/:\\]/g, "_") || "localhost";
  let n = 0;
  return {
    async write(raw, meta, flags, uid) {
      // Written in tmp/ then renamed into cur/: a reader never sees half a message (the Maildir way).
      const unique = `${Math.floor(meta.internalDate / 1000)}.M${uid}P${process.pid}Q${++n}.${host}`;
      const tmp = join(path, "tmp", unique);
      await writeFile(tmp, toLf(raw), { mode: 0o600, flag: "wx" });
      const seconds = meta.internalDate / 1000;
      await utimes(tmp, seconds, seconds);
      await rename(tmp, join(path, "cur", `${unique}${maildirInfo(flags).info}`));
    },
    close: async () => {},
  };
}
