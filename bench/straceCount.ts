/**
 * `strace -c` of a process tree, counting the calls that make writes durable (fsync, fdatasync,
 * sync_file_range, renames), for the by-hand measuring scripts (measureAppendCpu.ts): how many
 * durable waits an APPEND costs each server, which the disk, not the CPU, decides. Set
 * BENCH_STRACE=DIR (and install `strace`); the counts go to DIR/<target>.strace. With
 * BENCH_STRACE_EACH=1 every call is written instead, with its time and its file's path (-ttt -y).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

const CALLS = "fsync,fdatasync,sync_file_range,syncfs,rename,renameat,renameat2,link,unlink";

/** `strace -f -c` of `pids` until stop() (BENCH_STRACE); undefined when not asked for. */
export async function startStrace(
  name: string,
  pids: number[],
): Promise<{ stop(): Promise<void> } | undefined> {
  const dir = process.env.BENCH_STRACE;
  if (!dir || pids.length === 0) return undefined;
  const out = join(dir, `${name}.strace`);
  const attach = pids.flatMap((pid) => ["-p", String(pid)]);
  const mode = process.env.BENCH_STRACE_EACH ? ["-ttt", "-T", "-y"] : ["-c"];
  const child = spawn("strace", ["-f", ...mode, "-e", `trace=${CALLS}`, "-o", out, ...attach], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 500)); // strace attaches
  return {
    async stop() {
      child.kill("SIGINT");
      await exited;
    },
  };
}
