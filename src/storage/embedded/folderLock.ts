/**
 * Only one process may open a data folder. The lock is a file naming the process (pid and host)
 * that holds it, created atomically with link(2) so it is never seen half-written. A lock whose
 * process has died (kill -9, power cut) is taken over; taking over is itself guarded by a second
 * lock file, so two processes that both find a dead holder cannot both win. The boot id (Linux)
 * is recorded too: after a reboot the old pid may belong to some unrelated process.
 */
import { link, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { Locked } from "../../errors.ts";
import { FILE_MODE, tempName } from "./durableFs.ts";
import { fsErrorCode, unavailable } from "./fsFailure.ts";

export interface FolderLock {
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  boot?: string;
}

/** A takeover lock older than this was left by a process that died while taking over. */
const takeoverStaleMs = 10_000;
const maxAttempts = 50;

export async function lockFolder(dir: string): Promise<FolderLock> {
  const lockPath = join(dir, "lock");
  const me: Holder = { pid: process.pid, host: hostname(), boot: await bootId() };
  const content = JSON.stringify(me);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (await createExclusive(dir, lockPath, content)) {
      return {
        release: async () => {
          const now = await readHolderText(lockPath);
          if (now === content) await rm(lockPath, { force: true });
        },
      };
    }
    const text = await readHolderText(lockPath);
    if (text === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(text);
    const dead = holder?.host === me.host && (holder.boot !== me.boot || !isAlive(holder.pid));
    if (!dead) throw lockedError(dir, lockPath, holder);
    await takeOver(dir, lockPath, text);
  }
  throw lockedError(dir, lockPath, undefined);
}

/** Removes a dead holder's lock, unless someone else got there first. */
async function takeOver(dir: string, lockPath: string, deadText: string): Promise<void> {
  const guardPath = `${lockPath}.takeover`;
  if (!(await createExclusive(dir, guardPath, String(process.pid)))) {
    try {
      const { mtimeMs } = await stat(guardPath);
      if (Date.now() - mtimeMs > takeoverStaleMs) await rm(guardPath, { force: true });
    } catch {
      // gone already
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    return;
  }
  try {
    if ((await readHolderText(lockPath)) === deadText) await rm(lockPath, { force: true });
  } finally {
    await rm(guardPath, { force: true });
  }
}

/** Creates `path` holding `content`, atomically; false if it exists. */
async function createExclusive(dir: string, path: string, content: string): Promise<boolean> {
  const temp = join(dir, tempName());
  try {
    await writeFile(temp, content, { flag: "wx", mode: FILE_MODE });
    await link(temp, path);
    return true;
  } catch (err) {
    if (fsErrorCode(err) === "EEXIST") return false;
    throw unavailable("create the lock file", path, err);
  } finally {
    await unlink(temp).catch(() => {}); // gone already once linked as the lock, or never made
  }
}

async function readHolderText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (fsErrorCode(err) === "ENOENT") return undefined;
    throw unavailable("read the lock file", path, err);
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (Number.isSafeInteger(value.pid) && typeof value.host === "string") {
      return {
        pid: value.pid!,
        host: value.host,
        boot: typeof value.boot === "string" ? value.boot : undefined,
      };
    }
  } catch {
    // not ours
  }
  return undefined;
}

async function bootId(): Promise<string | undefined> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return undefined; // not Linux
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return fsErrorCode(err) === "EPERM"; // exists, owned by another user
  }
}

function lockedError(dir: string, lockPath: string, holder: Holder | undefined): Locked {
  if (!holder) {
    return new Locked(
      `the data folder ${dir} is locked and its lock file ${lockPath} names no process we can check; ` +
        `if no aerogramme-local uses this folder, delete that file`,
    );
  }
  const who =
    holder.pid === process.pid && holder.host === hostname()
      ? `this process (pid ${holder.pid}) already has it open`
      : `it is in use by process ${holder.pid} on ${holder.host}`;
  return new Locked(
    `the data folder ${dir} is locked: ${who}. Stop that process, or reach the running server ` +
      `through its control socket; if no such process runs, delete ${lockPath}`,
  );
}
