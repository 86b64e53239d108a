/**
 * The trace a refused rollback leaves beside the marks (localMarks.ts), in clear so that `doctor`
 * can report it without the password: `<marksDir>/<account>/<mark>.alarm`, JSON
 * {"path", "at", "message"}. It names storage paths (random ids) and timestamps, never a mailbox
 * name or a key. A later mark for the same path, saved once storage is right again, removes it.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fsErrorCode } from "../storage/embedded/fsFailure.ts";
import { replaceFile, syncFolder, writeFully } from "../storage/embedded/durableFs.ts";

export interface RollbackAlarm {
  /** The storage path that went back (`index/<mailbox id>`, `mailboxes/list`). */
  path: string;
  /** ISO time of the refusal. */
  at: string;
  message: string;
}

export const ALARM_SUFFIX = ".alarm";

export async function writeAlarm(dir: string, name: string, alarm: RollbackAlarm): Promise<void> {
  const bytes = new TextEncoder().encode(`${JSON.stringify(alarm)}\n`);
  await replaceFile(
    dir,
    `${name}${ALARM_SUFFIX}`,
    async (fh) => {
      await fh.chmod(0o600);
      await writeFully(fh, bytes, 0);
    },
    () => syncFolder(dir),
  );
}

export async function clearAlarm(dir: string, name: string): Promise<void> {
  await rm(join(dir, `${name}${ALARM_SUFFIX}`), { force: true });
}

/** Every alarm under `marksDir` (one folder per account), oldest first; none when it does not exist. */
export async function listRollbackAlarms(marksDir: string): Promise<RollbackAlarm[]> {
  const alarms: RollbackAlarm[] = [];
  for (const account of await entries(marksDir)) {
    const folder = join(marksDir, account);
    for (const file of await entries(folder)) {
      if (!file.endsWith(ALARM_SUFFIX)) continue;
      try {
        const parsed = JSON.parse(await readFile(join(folder, file), "utf8")) as Partial<RollbackAlarm>;
        alarms.push({
          path: String(parsed.path ?? "?"),
          at: String(parsed.at ?? "?"),
          message: String(parsed.message ?? "(unreadable alarm file)"),
        });
      } catch (err) {
        if (fsErrorCode(err) === "ENOENT") continue; // cleared meanwhile
        alarms.push({ path: "?", at: "?", message: `unreadable alarm file ${join(folder, file)}` });
      }
    }
  }
  return alarms.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
}
