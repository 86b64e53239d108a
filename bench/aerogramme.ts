/**
 * aerogramme-local driven only through its command line (DESIGN.md §8), as a user would: `init`,
 * then `import` of the corpus Maildir (or, where this build has no import, APPEND of every corpus
 * message through IMAP, untimed), then `start`, waiting for "IMAP listening on ADDR:PORT". The
 * server is restarted after loading so the session meets a fresh process (cold caches, and peak
 * RSS that belongs to the session, not to the load). Stopped by its PID with SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { benchDir, cacheRoot, readCorpusMessage, type Corpus } from "./corpus.ts";
import { freePort } from "./freePort.ts";
import { ImapWire } from "./imapWire.ts";
import { imapDateTime } from "./mimeEncode.ts";

const repo = resolve(benchDir, "..");
const cli = join(repo, "bin", "aerogramme-local.js");
const PASSWORD = "bench-password-Aer0";

export type AglBackend =
  | { kind: "embedded" }
  | {
      kind: "garage";
      s3Endpoint: string;
      k2vEndpoint: string;
      region: string;
      bucket: string;
      accessKeyId: string;
      secretAccessKey: string;
    };

export interface AglServer {
  host: string;
  port: number;
  user: string;
  password: string;
  pid: number;
  home: string;
  /** How the corpus got in, and how long it took. */
  loadNote: string;
  stop(): Promise<void>;
  /**
   * kill -9 of the server, then `start` again on the same home (the load tool's soak);
   * `beforeStart` runs between the two (bench/openChain.ts deletes the local cache there).
   */
  crash(beforeStart?: () => Promise<void>): Promise<{ host: string; port: number; pid: number }>;
  /**
   * A clean stop (SIGTERM) and a start again on the same data: a fresh process, as at a reboot.
   * `beforeStart` runs between the two (the cold targets delete the local cache there).
   */
  restart(beforeStart?: () => Promise<void>): Promise<{ host: string; port: number; pid: number }>;
}

export function runCli(
  home: string,
  args: string[],
  stdin: string,
  timeoutMs: number,
): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: repo,
      env: { ...process.env, AEROGRAMME_LOCAL_HOME: home },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), out });
    });
    child.stdin.end(stdin);
  });
}

export interface Running {
  child: ChildProcess;
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function startServer(home: string, logFile: string): Promise<Running> {
  const port = await freePort();
  // Run as a user's shell runs it (its first line gives Node the server's memory settings), or,
  // with BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR"), by node with those flags.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean);
  const [command, argv] = nodeArgs?.length
    ? [process.execPath, [...nodeArgs, cli, "start", "--imap-port", String(port)]]
    : [cli, ["start", "--imap-port", String(port)]];
  const child = spawn(command, argv, {
    cwd: repo,
    env: { ...process.env, AEROGRAMME_LOCAL_HOME: home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logStream = createWriteStream(logFile, { flags: "a" });
  child.stderr.pipe(logStream);
  // V8's --trace-opt and --trace-deopt print on stdout: BENCH_SERVER_STDOUT=FILE keeps it.
  if (process.env.BENCH_SERVER_STDOUT) {
    const out = createWriteStream(process.env.BENCH_SERVER_STDOUT);
    createInterface({ input: child.stdout }).on("line", (line) => out.write(`${Date.now()} ${line}\n`));
  }
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killAtExit = () => child.exitCode === null && child.kill("SIGKILL");
  process.once("exit", killAtExit);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const hard = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(hard);
    }
    process.off("exit", killAtExit);
  };
  try {
    const listening = await new Promise<{ host: string; port: number }>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('no "IMAP listening on" line within 60 s')), 60_000);
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => {
        const m = /^IMAP listening on (.+):(\d+)$/.exec(line.trim());
        if (m) {
          clearTimeout(timer);
          ok({ host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) });
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`start exited with code ${code}`));
      });
    });
    return { child, ...listening, stop };
  } catch (err) {
    await stop();
    const tail = (await readFile(logFile, "utf8").catch(() => "")).slice(-1500);
    throw new Error(`${(err as Error).message}${tail ? `; its log ends:\n${tail}` : ""}`);
  }
}

/**
 * APPENDs every corpus message over `connections` parallel connections (loading is not what is
 * measured; the session's checks do not depend on UID order). Flags and dates come along.
 */
async function appendCorpus(
  server: { host: string; port: number },
  corpus: Corpus,
  log: (l: string) => void,
  label: string,
  connections = 4,
) {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    const wire = await ImapWire.open(server.host, server.port);
    try {
      await wire.command(`LOGIN bench "${PASSWORD}"`);
      for (let i = next++; i < corpus.count; i = next++) {
        const m = corpus.messages[i]!;
        await wire.command(`APPEND INBOX (${m.flags.join(" ")}) "${imapDateTime(m.date)}"`, {
          literal: await readCorpusMessage(corpus, i),
        });
        if (++done % 1000 === 0)
          log(
            `    ${label}: appended ${done}/${corpus.count} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
          );
      }
    } finally {
      await wire.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

export async function startAerogramme(
  name: string,
  corpus: Corpus,
  backend: AglBackend,
  log: (line: string) => void = () => {},
  /** Runs once the corpus is in, before the restart (the delayed target turns its delay on here). */
  afterLoad: (home: string) => void | Promise<void> = () => {},
): Promise<AglServer> {
  await mkdir(cacheRoot, { recursive: true });
  const home = await mkdtemp(join(cacheRoot, `agl-${name}-`));
  const logFile = join(home, "server.log");
  let server: Running | undefined;
  try {
    const initArgs = ["init", "--user", "bench", "--password-stdin", "--yes"];
    let stdin = `${PASSWORD}\n`;
    if (backend.kind === "embedded") initArgs.push("--backend", "embedded");
    else {
      initArgs.push(
        "--backend",
        "garage",
        "--s3-endpoint",
        backend.s3Endpoint,
        "--k2v-endpoint",
        backend.k2vEndpoint,
        "--region",
        backend.region,
        "--bucket",
        backend.bucket,
        "--access-key-id",
        backend.accessKeyId,
        "--secret-access-key-stdin",
        // A file, not the OS keychain: the bench runs without a desktop session.
        "--credentials-file",
      );
      stdin = `${backend.secretAccessKey}\n${PASSWORD}\n`;
    }
    const init = await runCli(home, initArgs, stdin, 120_000);
    if (init.code !== 0) throw new Error(`init failed (exit ${init.code}): ${init.out.trim().slice(-800)}`);
    // The load tool runs up to 50 clients from 127.0.0.1 (the default allows 20 per address), as
    // Dovecot's bench configuration allows 100.
    const limit = await runCli(home, ["config", "set", "imapMaxConnectionsPerAddress", "100"], "", 60_000);
    if (limit.code !== 0) throw new Error(`config set failed (exit ${limit.code}): ${limit.out.trim()}`);

    // BENCH_EXTRA_CONFIG=key=value,...: settings for a by-hand comparison (e.g. `cache=off` to see
    // what the local cache costs an APPEND); never set for a recorded run.
    for (const kv of (process.env.BENCH_EXTRA_CONFIG ?? "").split(",").filter(Boolean)) {
      const [k, v] = kv.split("=");
      const r = await runCli(home, ["config", "set", k!, v!], "", 60_000);
      if (r.code !== 0) throw new Error(`config set ${kv} failed: ${r.out}`);
    }
    const t0 = performance.now();
    let loadNote: string;
    const imported = await runCli(
      home,
      ["import", join(corpus.dir, "Maildir"), "--format", "maildir", "--password-stdin"],
      `${PASSWORD}\n`,
      3_600_000,
    );
    if (imported.code === 0) {
      loadNote = `imported with \`import --format maildir\` in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      await afterLoad(home);
      server = await startServer(home, logFile);
    } else {
      log(
        `    import unavailable (exit ${imported.code}: ${imported.out.trim().split("\n")[0]}); loading by APPEND`,
      );
      server = await startServer(home, logFile);
      const t1 = performance.now();
      await appendCorpus(server, corpus, log, name);
      loadNote = `loaded by APPEND over 4 IMAP connections in ${((performance.now() - t1) / 1000).toFixed(1)} s (\`import\` exited ${imported.code})`;
      await afterLoad(home);
      // A fresh process for the session: cold caches, and its peak RSS is the session's own.
      await server.stop();
      server = await startServer(home, logFile);
    }
    log(`    ${name}: ${loadNote}; pid ${server.child.pid} on ${server.host}:${server.port}`);
    let running = server;
    return {
      host: running.host,
      port: running.port,
      user: "bench",
      password: PASSWORD,
      pid: running.child.pid!,
      home,
      loadNote,
      crash: async (beforeStart) => {
        const exited = new Promise((r) => running.child.once("exit", r));
        running.child.kill("SIGKILL");
        await exited;
        await running.stop(); // forgets the exit hook
        await beforeStart?.();
        running = await startServer(home, logFile);
        return { host: running.host, port: running.port, pid: running.child.pid! };
      },
      restart: async (beforeStart) => {
        await running.stop();
        await beforeStart?.();
        running = await startServer(home, logFile);
        return { host: running.host, port: running.port, pid: running.child.pid! };
      },
      stop: async () => {
        await running.stop();
        // BENCH_SERVER_LOG=FILE keeps the server's log past the clean-up (one file, the last target's).
        if (process.env.BENCH_SERVER_LOG)
          await copyFile(logFile, process.env.BENCH_SERVER_LOG).catch(() => undefined);
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    await rm(home, { recursive: true, force: true });
    throw err;
  }
}

/** Bytes of every file under `dir` (the embedded store's size on disk, before block rounding). */
export async function folderBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        bytes += (await stat(p)).size;
        files++;
      }
    }
  };
  await walk(dir).catch(() => undefined);
  return { bytes, files };
}
