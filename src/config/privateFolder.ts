/**
 * Folders and files that other users of this computer must not read or replace (issue 12): the
 * control socket's folder, the home itself. A private folder is a real folder
 * (not a symbolic link), owned by our uid, with no access at all for group and others (0700).
 * Nobody but its owner (and root, who can do anything anyway) can then create, replace or reach
 * anything inside it: that is what the control socket's safety rests on (see controlServer.ts).
 */
import { chmod, lstat, mkdir, realpath } from "node:fs/promises";
import type { Stats } from "node:fs";
import { Invalid } from "../errors.ts";

/** A folder or file that another user could read or replace; the CLI maps it to exit 11. */
export class NotPrivate extends Invalid {}

/** Our uid, or undefined where there are no uids (Windows): there, nothing is checked. */
export function ourUid(): number | undefined {
  return typeof process.getuid === "function" ? process.getuid() : undefined;
}

export interface FolderRule {
  /** What the folder is, for messages ("the control socket's folder"). */
  what: string;
  /**
   * A folder the user chose (the home, $XDG_RUNTIME_DIR) may be reached through symbolic links;
   * its real folder is checked. A folder we name in a shared place (/tmp) must not be a link.
   */
  followLinks: boolean;
  /** What to do when another user owns it (default: remove it as root). */
  fix?: string;
}

/**
 * Makes `path` (mode 0700, parents too) if missing, then checks that it is private. A folder of
 * ours that group or others can reach is tightened to 0700; one owned by anyone else, or a link
 * where none may be, is refused with NotPrivate.
 */
export async function ensurePrivateFolder(path: string, rule: FolderRule): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const { real, info } = await inspect(path, rule);
  refuseStranger(real, info, rule);
  if ((info.mode & 0o077) !== 0) await chmod(real, 0o700);
}

/**
 * Whether `path` is a folder that nobody but us could have put anything into: ours, not a link
 * (unless allowed), and not writable by group or others. False when it does not exist; NotPrivate
 * otherwise. This is the client's check: a folder of ours that others may read but not write is
 * still one where only we can create a socket.
 */
export async function checkNobodyElseWrites(path: string, rule: FolderRule): Promise<boolean> {
  let found: { real: string; info: Stats };
  try {
    found = await inspect(path, rule);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  refuseStranger(found.real, found.info, rule);
  if ((found.info.mode & 0o022) !== 0)
    throw new NotPrivate(
      `${rule.what} ${found.real} can be written by other users (mode ${octal(found.info.mode)}): refusing to use it. Run \`chmod 700 ${found.real}\`.`,
    );
  return true;
}

/** Whether `path` is still private (0700, ours, not a link where none may be), without changing it. */
export async function isPrivateFolder(path: string, rule: Pick<FolderRule, "followLinks">): Promise<boolean> {
  try {
    const { info } = await inspect(path, rule);
    const uid = ourUid();
    return (uid === undefined || info.uid === uid) && (info.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/**
 * The control socket at `path`: false when there is none; NotPrivate when something else is
 * there, or a socket another user made. Checked before anything is sent to it.
 */
export async function checkOurSocket(path: string): Promise<boolean> {
  let info: Stats;
  try {
    info = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  if (!info.isSocket())
    throw new NotPrivate(
      `${path} is not a socket (someone or something put another kind of file there): refusing to talk to it. Remove it if no server of yours is running.`,
    );
  const uid = ourUid();
  if (uid !== undefined && info.uid !== uid)
    throw new NotPrivate(
      `the control socket ${path} belongs to uid ${info.uid}, not to you: another user made it. Nothing was sent to it. Remove it (as root) and start the server again.`,
    );
  return true;
}

async function inspect(
  path: string,
  rule: Pick<FolderRule, "followLinks">,
): Promise<{ real: string; info: Stats }> {
  const real = rule.followLinks ? await realpath(path) : path;
  return { real, info: await lstat(real) };
}

function refuseStranger(path: string, info: Stats, rule: FolderRule): void {
  if (info.isSymbolicLink())
    throw new NotPrivate(
      `${rule.what} ${path} is a symbolic link (made by whom?): refusing to use it. Remove it; it is made again as a private folder.`,
    );
  if (!info.isDirectory())
    throw new NotPrivate(`${rule.what} ${path} is not a folder: refusing to use it. Remove it.`);
  const uid = ourUid();
  if (uid !== undefined && info.uid !== uid)
    throw new NotPrivate(
      `${rule.what} ${path} belongs to uid ${info.uid}, not to you (uid ${uid}): another user may have made it to read what goes through it. Refusing to use it. ${rule.fix ?? "Remove it (as root) and try again."}`,
    );
}

export function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, "0");
}
