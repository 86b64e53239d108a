/**
 * CPU time of processes from /proc (Linux), for the by-hand measuring scripts: under a shared
 * machine's load the CPU a step spends is far steadier than its wall time.
 */
import { readFile, readdir } from "node:fs/promises";

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface ProcStat {
  ppid: number;
  cpuMs: number;
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!text) return undefined;
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS };
}

async function processTable(): Promise<Map<number, ProcStat>> {
  const table = new Map<number, ProcStat>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = await readStat(Number(name));
    if (s) table.set(Number(name), s);
  }
  return table;
}

/** `root` and every process below it now. */
export async function processTree(root: number): Promise<number[]> {
  const table = await processTable();
  const out = [root];
  for (let i = 0; i < out.length; i++)
    for (const [pid, s] of table) if (s.ppid === out[i] && !out.includes(pid)) out.push(pid);
  return out;
}

/** The Garage daemons this process started (test/support/garage.ts spawns them directly). */
export async function garageChildren(): Promise<number[]> {
  const out: number[] = [];
  for (const [pid, s] of await processTable()) {
    if (s.ppid !== process.pid) continue;
    const argv0 = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0")[0]!;
    if (argv0.endsWith("garage")) out.push(pid);
  }
  return out;
}

/** CPU milliseconds (user + system) the processes have used so far, at 10 ms resolution. */
export async function cpuMsOf(pids: number[]): Promise<number> {
  let ms = 0;
  for (const pid of pids) ms += (await readStat(pid))?.cpuMs ?? 0;
  return ms;
}

/** The load average over 1, 5 and 15 minutes, as text. */
export async function loadAverage(): Promise<string> {
  return (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
}

/**
 * CPU milliseconds of one process's main thread and of its other threads by their name
 * (`libuv-worker`: the thread pool's file system calls; `V8 DefaultWorke`: V8's GC and compiler
 * helpers; the search index's worker, and so on).
 */
export async function cpuMsByThread(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tids) {
    const text = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => undefined);
    if (!text) continue;
    const name =
      tid === String(pid) ? "main thread" : text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ms = (Number(f[11]) + Number(f[12])) * TICK_MS;
    out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}
