/**
 * Starts `aerogramme-local start` from a launcher (bin/aerogramme-local.js of this tree or of
 * another, built one) on a free port, for the walk scripts (memoryWalk.ts, firstSyncSteps.ts), and
 * resolves once it prints "IMAP listening". With `nodeFlags` the server runs as
 * `node NODE_FLAGS launcher`, given the launcher's memory environment by hand (its first line,
 * which running node directly skips). The process is killed when this one exits, unless `stop`
 * ended it first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { freePort } from "./freePort.ts";

export interface LaunchOptions {
  launcher: string;
  home: string;
  nodeFlags?: string[];
  /** Added to this process's environment (after the launcher's memory settings). */
  env?: NodeJS.ProcessEnv;
  /** The server's stderr: dropped, or shared with this process. */
  stderr: "ignore" | "inherit";
  /** Each line the server prints on stdout. */
  onLine?: (line: string) => void;
}

/** The launcher's memory environment, as its first line sets it. */
const LAUNCHER_ENV = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "65536",
  MALLOC_TRIM_THRESHOLD_: "1048576",
};

export interface Launched {
  child: ChildProcess;
  port: number;
  /** Sends SIGTERM (the server's own shutdown) and resolves when the process is gone. */
  stop: () => Promise<void>;
}

export async function launchServer(options: LaunchOptions): Promise<Launched> {
  const port = await freePort();
  const env = { ...process.env, ...options.env, AEROGRAMME_LOCAL_HOME: options.home };
  const args = ["start", "--imap-port", String(port)];
  const stdio = ["ignore", "pipe", options.stderr] as const;
  const nodeFlags = options.nodeFlags ?? [];
  const child =
    nodeFlags.length > 0
      ? spawn(process.execPath, [...nodeFlags, options.launcher, ...args], {
          env: { ...LAUNCHER_ENV, ...env },
          stdio: [...stdio],
        })
      : spawn(options.launcher, args, { env, stdio: [...stdio] });
  const killAtExit = () => child.kill("SIGKILL");
  process.once("exit", killAtExit);
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('no "IMAP listening on" line within 60 s')), 60_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      options.onLine?.(line);
      if (!line.startsWith("IMAP listening")) return;
      clearTimeout(timer);
      ok();
    });
  });
  const stop = async () => {
    child.kill("SIGTERM");
    process.off("exit", killAtExit);
    await gone;
  };
  return { child, port, stop };
}
