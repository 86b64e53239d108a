/**
 * Runs the real `aerogramme-local` binary as a person or a script would: a fresh temp home per test
 * (AEROGRAMME_LOCAL_HOME), secrets on stdin, bounded waits, processes stopped by PID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");
export const BIN = join(REPO, "bin/aerogramme-local.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function tempHome(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "agl-cli-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function cliEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AEROGRAMME_LOCAL_HOME: home, NO_COLOR: "1", ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

export function runCli(
  args: string[],
  opts: { home: string; input?: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(opts.home, opts.env), cwd: REPO });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `aerogramme-local ${args.join(" ")} did not end within ${opts.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

export interface RunningServer {
  child: ChildProcess;
  host: string;
  port: number;
  stderr: () => string;
  /** Sends the signal and waits (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `start` and waits (bounded) for "IMAP listening on ADDR:PORT". */
export function startServer(
  args: string[],
  opts: { home: string; input?: string; timeoutMs?: number },
): Promise<RunningServer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, "start", ...args], { env: cliEnv(opts.home), cwd: REPO });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `start did not print its ready line within ${opts.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 60_000);
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => {
      stdout += d;
      const m = /^IMAP listening on (\S+):(\d+)$/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolvePromise({
        child,
        host: m[1]!.replace(/^\[|\]$/g, ""),
        port: Number(m[2]),
        stderr: () => stderr,
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode !== null) return child.exitCode;
          child.kill(signal);
          const bounded = setTimeout(() => child.kill("SIGKILL"), 30_000);
          const code = await exited;
          clearTimeout(bounded);
          return code;
        },
      });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`start exited with ${code} before it was ready\n${stdout}\n${stderr}`));
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** A loopback port that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
