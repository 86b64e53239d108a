/**
 * What an import reads: messages from an mbox file or a Maildir, one at a time, with how far
 * through the source the reader is (for progress and ETA). The format is guessed when not given:
 * a folder with cur/ or new/ is a Maildir, a file is an mbox.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Invalid, NotFound } from "../../errors.ts";
import { parseMaildirName } from "./maildirFlags.ts";
import { splitMbox } from "./mboxFormat.ts";
import { mboxFlags } from "./mboxFlags.ts";

export type MailFormat = "mbox" | "maildir";

export interface SourceMessage {
  /** Where in the source, for reports: "line 120" of an mbox, a Maildir file's path. */
  where: string;
  raw: Uint8Array;
  flags: string[];
  internalDate: number;
}

export interface MailSource {
  format: MailFormat;
  /** Known ahead: bytes of an mbox file, messages of a Maildir. */
  total: { bytes?: number; messages?: number };
  messages(): AsyncIterable<SourceMessage & { bytesRead: number }>;
}

// Here a path that cannot be stat'ed is treated as absent: opening it later fails with its own error.
async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

export async function openMailSource(path: string, format?: MailFormat): Promise<MailSource> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new NotFound(`nothing to import at ${path}`);
  const maildir =
    info.isDirectory() && ((await isDir(join(path, "cur"))) || (await isDir(join(path, "new"))));
  const guessed: MailFormat | undefined = info.isFile() ? "mbox" : maildir ? "maildir" : undefined;
  const chosen = format ?? guessed;
  if (!chosen || chosen !== guessed)
    throw new Invalid(
      info.isDirectory()
        ? `${path} is a folder without cur/ or new/: not a Maildir (an mbox is a single file)`
        : `${path} is a file: a Maildir is a folder with cur/, new/ and tmp/`,
    );
  return chosen === "mbox" ? mboxSource(path, info.size) : maildirSource(path);
}

function mboxSource(path: string, size: number): MailSource {
  return {
    format: "mbox",
    total: { bytes: size },
    async *messages() {
      const now = Date.now();
      for await (const m of splitMbox(createReadStream(path, { highWaterMark: 256 * 1024 })))
        yield {
          where: `line ${m.line}`,
          raw: m.raw,
          flags: mboxFlags(m.raw),
          internalDate: m.date ?? now,
          bytesRead: m.offset,
        };
    },
  };
}

async function maildirSource(path: string): Promise<MailSource> {
  const files: { file: string; flags: string[]; mtime: number; name: string }[] = [];
  for (const sub of ["new", "cur"]) {
    const dir = join(path, sub);
    if (!(await isDir(dir))) continue;
    for (const name of await readdir(dir)) {
      if (name.startsWith(".")) continue;
      const file = join(dir, name);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) continue;
      // Mail in new/ has not been seen by any reader: it carries no flags whatever its name says.
      const flags = sub === "cur" ? parseMaildirName(name).flags : [];
      files.push({ file, flags, mtime: info.mtimeMs, name });
    }
  }
  // Delivery order: Maildir names start with the delivery time, and the mtime is that time too.
  files.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    format: "maildir",
    total: { messages: files.length },
    async *messages() {
      let bytesRead = 0;
      for (const f of files) {
        const raw = await readFile(f.file);
        bytesRead += raw.length;
        yield { where: f.file, raw, flags: f.flags, internalDate: Math.floor(f.mtime), bytesRead };
      }
    },
  };
}

/**
 * The Maildir++ subfolders of a Maildir (Courier, Dovecot): folders `.Name` or `.Parent.Child`
 * beside cur/, each a Maildir, named with "/" for "." (`Parent/Child`), in name order so that a
 * parent comes before its children. Names are used as written (not decoded from modified UTF-7).
 */
export async function maildirSubfolders(path: string): Promise<{ name: string; path: string }[]> {
  const out: { name: string; path: string }[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith(".") || entry.name === "." || entry.name === "..")
      continue;
    const parts = entry.name.slice(1).split(".");
    if (parts.some((p) => p === "")) continue;
    const sub = join(path, entry.name);
    if (!(await isDir(join(sub, "cur"))) && !(await isDir(join(sub, "new")))) continue;
    out.push({ name: parts.join("/"), path: sub });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
