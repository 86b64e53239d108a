/**
 * `perf record -g` of one process, every thread, for the by-hand measuring scripts
 * (measureAppendCpu.ts, measureColdSync.ts): CPU time, where V8's --cpu-prof samples the main
 * thread only, waiting for a core included. Set BENCH_PERF_RECORD=DIR (and install `perf`); add
 * BENCH_SERVER_NODE_ARGS=--perf-basic-prof to name the JavaScript frames, and read the file with
 * `perf report -i FILE --no-children`.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

/** `perf record` of one process until stop() (BENCH_PERF_RECORD); undefined when not asked for. */
export async function startPerf(name: string, pid: number): Promise<{ stop(): Promise<void> } | undefined> {
  const dir = process.env.BENCH_PERF_RECORD;
  if (!dir) return undefined;
  const out = join(dir, `${name}.perf.data`);
  const child = spawn("perf", ["record", "-g", "-F", "999", "-p", String(pid), "-o", out], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 500)); // perf attaches
  return {
    async stop() {
      child.kill("SIGINT");
      await exited;
    },
  };
}
