/**
 * Runs a CLI command inside the test process, through the same `main` the binary runs, for tests
 * whose subject is what a command does, not the process: a start of the binary costs ~0.4-0.5 CPU s
 * (node, the module graph, sodium) before the command begins, and the CLI tests started it ~220
 * times. What the process does (signals, the exit code the binary returns, start-up, stdin held
 * open, a server) stays with runCli and startServer in cliHarness.ts.
 *
 * For the length of a run, `process.env` is the home's environment (cliEnv), `process.stdin` reads
 * `input`, `process.stdout` and `process.stderr` are captured, and the exit code is what `main`
 * leaves in `process.exitCode`; all of it, and the umask `main` sets, is put back after. Runs are
 * serialized (one at a time in this process), because those are process-wide; the test runner's own
 * output keeps the stream it took at its start, so it never lands in a capture.
 */
import { Readable, Writable } from "node:stream";
import { BIN, cliEnv, type CliResult } from "./cliHarness.ts";

let queue: Promise<unknown> = Promise.resolve();

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

function swap(name: "stdin" | "stdout" | "stderr", value: unknown): () => void {
  const original = Object.getOwnPropertyDescriptor(process, name)!;
  Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => value });
  return () => Object.defineProperty(process, name, original);
}

async function runOnce(
  args: string[],
  opts: { home: string; input?: string; env?: Record<string, string | undefined> },
): Promise<CliResult> {
  // The binary's entry for the command (bin/aerogramme-local.js): `deliver` has its own.
  const { main } =
    args[0] === "deliver"
      ? await import("../../src/cli/deliverMain.ts")
      : await import("../../src/cli/main.ts");
  const out = collector();
  const err = collector();
  const input = opts.input ?? "";
  const stdin = Readable.from(input === "" ? [] : [Buffer.from(input)], { objectMode: false });
  const env = process.env;
  const umask = process.umask();
  const exitCode = process.exitCode;
  const restore = [swap("stdin", stdin), swap("stdout", out.stream), swap("stderr", err.stream)];
  process.env = cliEnv(opts.home, opts.env);
  process.exitCode = undefined;
  try {
    await main([process.execPath, BIN, ...args]);
    const code = process.exitCode ?? 0;
    return { code: typeof code === "number" ? code : Number(code), stdout: out.text(), stderr: err.text() };
  } finally {
    for (const undo of restore) undo();
    process.env = env;
    process.umask(umask);
    process.exitCode = exitCode;
  }
}

/**
 * As runCli, in this process (see above): the same result for a command that ends by itself. A run
 * not ended within `timeoutMs` (default 60 s, as runCli) fails the test; it cannot be killed, so
 * the process-wide swaps stay until it ends.
 */
export function runCliHere(
  args: string[],
  opts: { home: string; input?: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<CliResult> {
  // They serve until a signal, install signal handlers and may call process.exit: the binary's.
  if (args[0] === "start" || args[0] === "lmtp")
    throw new Error(`runCliHere does not run \`${args[0]}\`: use startServer or startLmtp`);
  const ms = opts.timeoutMs ?? 60_000;
  const run = queue.then(async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`aerogramme-local ${args.join(" ")} (in process) did not end within ${ms} ms`)),
        ms,
      );
    });
    try {
      return await Promise.race([runOnce(args, opts), late]);
    } finally {
      clearTimeout(timer);
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
