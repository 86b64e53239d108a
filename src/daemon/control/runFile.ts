/**
 * server.json in the home's folder while `start` runs: who serves (pid) and where (addresses), for
 * `status` and `doctor` when the control socket cannot answer. Removed at a clean stop; a leftover
 * one names a dead pid and is reported as such.
 */
import { open, readFile, rm } from "node:fs/promises";

export interface RunInfo {
  pid: number;
  startedAt: string;
  imap: { host: string; port: number };
}

export async function writeRunFile(path: string, info: RunInfo): Promise<void> {
  const handle = await open(path, "w", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(info, null, 2)}\n`);
  } finally {
    await handle.close();
  }
}

export async function readRunFile(path: string): Promise<RunInfo | null> {
  try {
    const info = JSON.parse(await readFile(path, "utf8")) as RunInfo;
    return typeof info.pid === "number" ? info : null;
  } catch {
    return null;
  }
}

/** Removes the run file only if it is this process's (a second start must not remove the first's). */
export async function removeRunFile(path: string): Promise<void> {
  const info = await readRunFile(path);
  if (info?.pid === process.pid) await rm(path, { force: true });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
