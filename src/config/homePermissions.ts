/**
 * The settings, data and cache folders hold what an offline password guess needs (`keys/root` in
 * the row log and blobs, the pins, the S3 secrets file): no other user may read them (issue 12).
 * New files are made 0600 and folders 0700 (the CLI's umask, and explicit modes where files are
 * made); homes made by earlier builds, or by hand, are found and tightened here: at `start`, and
 * reported by `doctor`.
 *
 * A folder closed to others (0700) makes everything under it unreachable, whatever its own mode,
 * so the walk does not enter `blobs` folders (one file per message: 100,000 lstat calls at every
 * start for nothing); it reports and tightens every other file and folder under the three roots.
 */
import { chmod, lstat, readdir } from "node:fs/promises";
import { basename, join, sep } from "node:path";
import type { HomePaths } from "./homePaths.ts";
import { octal, ourUid } from "./privateFolder.ts";
import type { Settings } from "./settingsSchema.ts";

export interface LooseEntry {
  path: string;
  kind: "folder" | "file";
  /** Permission bits as found. */
  mode: number;
  /** Its owner's uid when it is not ours: we do not change another user's files. */
  otherOwner?: number;
  /** The command that closes it. */
  fix: string;
}

/** More is not a home any more: stop looking (and say so) rather than walk someone's disk. */
const MAX_ENTRIES = 20_000;

/** The folders this home keeps private: settings, the embedded data folder, the cache. */
export function privateRoots(paths: HomePaths, settings: Partial<Settings>): string[] {
  const roots = [paths.configDir, paths.cacheDir];
  if (settings.backend === undefined || settings.backend === "embedded")
    roots.push(settings.dataDir ?? paths.defaultDataDir);
  return [...new Set(roots)];
}

/** Every file or folder under `roots` that group or others may use. */
export async function findLoosePermissions(roots: string[]): Promise<LooseEntry[]> {
  const loose: LooseEntry[] = [];
  const seen = { count: 0 };
  // A root inside another (the data and cache folders of an AEROGRAMME_LOCAL_HOME) is walked once.
  const outer = roots.filter((r) => !roots.some((o) => o !== r && r.startsWith(o + sep)));
  for (const root of outer) await walk(root, loose, seen);
  return loose;
}

/**
 * Closes what `findLoosePermissions` finds and we own (folders to 0700, files to 0600, the owner's
 * own bits kept); returns what was changed and what could not be (another user's, or chmod failed).
 */
export async function tightenPermissions(
  roots: string[],
): Promise<{ tightened: LooseEntry[]; left: (LooseEntry & { reason: string })[] }> {
  const tightened: LooseEntry[] = [];
  const left: (LooseEntry & { reason: string })[] = [];
  for (const entry of await findLoosePermissions(roots)) {
    if (entry.otherOwner !== undefined) {
      left.push({ ...entry, reason: `it belongs to uid ${entry.otherOwner}` });
      continue;
    }
    try {
      await chmod(entry.path, entry.mode & 0o700);
      tightened.push(entry);
    } catch (err) {
      left.push({ ...entry, reason: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  }
  return { tightened, left };
}

async function walk(path: string, loose: LooseEntry[], seen: { count: number }): Promise<void> {
  if (seen.count++ >= MAX_ENTRIES) return;
  let info;
  try {
    info = await lstat(path);
  } catch {
    return; // not there (yet), or gone meanwhile
  }
  // A link is not followed: what it points to is not ours to judge, and its own mode means nothing.
  if (info.isSymbolicLink()) return;
  const folder = info.isDirectory();
  const uid = ourUid();
  if ((info.mode & 0o077) !== 0 && (folder || info.isFile() || info.isSocket())) {
    const other = uid !== undefined && info.uid !== uid ? info.uid : undefined;
    loose.push({
      path,
      kind: folder ? "folder" : "file",
      mode: info.mode & 0o777,
      ...(other !== undefined ? { otherOwner: other } : {}),
      fix:
        other !== undefined
          ? `it belongs to uid ${other}: \`chown\` it to yourself (as root) or remove it`
          : `chmod ${octal(info.mode & 0o700)} ${path}`,
    });
  }
  if (!folder || basename(path) === "blobs") return;
  let names: string[];
  try {
    names = await readdir(path);
  } catch {
    return; // a folder we cannot list is reported by its own mode or owner above, or is ours and empty
  }
  for (const name of names) await walk(join(path, name), loose, seen);
}
