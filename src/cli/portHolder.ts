/**
 * Which process holds a TCP port, when this computer says: Linux lists listening sockets in
 * /proc/net/tcp{,6} by inode, and each process's open sockets under /proc/PID/fd. Only processes of
 * this user (or all, for root) can be looked into; anything unreadable is skipped, so the answer is
 * a best effort and undefined when not found (another user's process, or not Linux).
 */
import { readdir, readFile, readlink } from "node:fs/promises";

export interface PortHolder {
  pid: number;
  /** The process's command line, arguments joined by spaces (at most 200 characters). */
  command: string;
}

/** State 0A is LISTEN in the kernel's tcp_states. */
const LISTEN = "0A";

export async function portHolder(port: number): Promise<PortHolder | undefined> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = fields[1];
      if (!local || fields[3] !== LISTEN) continue;
      if (Number.parseInt(local.split(":")[1] ?? "", 16) === port && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return { pid: Number(pid), command: await commandOf(pid) };
    }
  }
  return undefined;
}

async function commandOf(pid: string): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const text = raw.split("\0").filter(Boolean).join(" ");
  return text.length > 200 ? `${text.slice(0, 197)}...` : text || "(unknown)";
}
