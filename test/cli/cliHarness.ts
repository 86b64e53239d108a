/**
 * Runs the real `aerogramme-local` binary as a person or a script would: a fresh temp home per test
 * (AEROGRAMME_LOCAL_HOME), secrets on stdin, bounded waits, processes stopped by PID.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before } from "node:test";
import type { KdfParams } from "../../src/crypto/passwordKey.ts";
import { copyTree } from "../support/copyTree.ts";
import { installDerivationMemo } from "../support/derivationMemo.ts";

// Every CLI test process: the commands run here (inProcess.ts) derive each repeated Argon2id key
// once (derivationMemo.ts); the binaries the tests start are not affected.
installDerivationMemo();

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

/**
 * The environment the test runner gave this process. runCliHere (inProcess.ts) puts another object
 * in `process.env` for the length of a run; a binary started meanwhile by a test running beside it
 * must not inherit that run's home and variables.
 */
const TEST_ENV = process.env;

export function cliEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...TEST_ENV, AEROGRAMME_LOCAL_HOME: home, NO_COLOR: "1", ...extra };
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
  opts: { home: string; input?: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<RunningServer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, "start", ...args], {
      env: cliEnv(opts.home, opts.env),
      cwd: REPO,
    });
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

export interface RunningLmtp {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/** Starts `lmtp --port 0` on `home` and waits (bounded) for "LMTP listening on 127.0.0.1:PORT". */
export function startLmtp(home: string): Promise<RunningLmtp> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, "lmtp", "--port", "0"], { env: cliEnv(home), cwd: REPO });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`lmtp did not start within 30 s\n${stderr}`));
    }, 30_000);
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => {
      stdout += d;
      const m = /^LMTP listening on 127\.0\.0\.1:(\d+)$/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolvePromise({ child, port: Number(m[1]), stderr: () => stderr });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`lmtp exited with ${code}\n${stderr}`));
    });
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

/**
 * Writes the settings file of `home` as `config set` would leave it after one run per value (JSON,
 * mode 0600), for tests whose subject is another command: `config set` has its own tests, and a
 * start of the binary per setting cost more than the test itself.
 */
export async function writeSettings(home: string, values: Record<string, string | number>): Promise<void> {
  await writeFile(join(home, "settings.json"), `${JSON.stringify(values, null, "\t")}\n`, { mode: 0o600 });
}

/** The account password of the CLI test files whose homes need no particular one. */
export const CLI_PASSWORD = "cli test password";

/** Templates this process made or found, by name (sharedTemplate). */
const templates = new Map<string, Promise<string>>();

/**
 * Where templates live: the folder run-tests.mjs makes for the whole run (AGL_TEST_RUN_DIR, shared
 * by the test files it starts and removed after them), or one for this process alone.
 */
let templateRoot: Promise<string> | undefined;
function templateFolder(): Promise<string> {
  templateRoot ??= (async () => {
    const shared = process.env.AGL_TEST_RUN_DIR;
    if (shared) return shared;
    const own = await mkdtemp(join(tmpdir(), "agl-cli-templates-"));
    process.once("exit", () => rmSync(own, { recursive: true, force: true }));
    return own;
  })();
  return templateRoot;
}

/**
 * `init --user USER --password-stdin` on an empty home made for it, its password entry then
 * re-wrapped with LIGHT_KDF unless `kdf` is "init's": the template of copyHome.
 */
function template(user: string, password: string, kdf: HomeKdf): Promise<string> {
  const key = createHash("sha256").update(`${user}\0${password}\0${kdf}`).digest("hex").slice(0, 16);
  return sharedTemplate(`home-${key}`, async (dir) => {
    const r = await runCli(["init", "--user", user, "--password-stdin"], {
      home: dir,
      input: `${password}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    if (kdf === "light") await lightenKdf(dir, password);
  });
}

/**
 * The folder `name` in the run's template folder, filled by `make` (given it, empty, mode 0700) once
 * for the whole run. Test files run at once, so the first to need it takes `NAME.lock` (mkdir is
 * atomic), makes it, then writes `NAME.ready` (or `NAME.failed`); the others wait for it, for at
 * most `waitMs`.
 */
export function sharedTemplate(
  name: string,
  make: (dir: string) => Promise<void>,
  waitMs = 120_000,
): Promise<string> {
  let made = templates.get(name);
  if (!made) {
    made = (async () => {
      const dir = join(await templateFolder(), name);
      const taken = await mkdir(`${dir}.lock`).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "EEXIST") return false;
          throw err;
        },
      );
      if (taken) {
        await mkdir(dir, { mode: 0o700 });
        try {
          await make(dir);
        } catch (err) {
          await writeFile(`${dir}.failed`, String(err));
          throw err;
        }
        await writeFile(`${dir}.ready`, "");
        return dir;
      }
      const deadline = Date.now() + waitMs;
      for (;;) {
        if (existsSync(`${dir}.ready`)) return dir;
        if (existsSync(`${dir}.failed`)) throw new Error(`the template ${dir} could not be made`);
        if (Date.now() > deadline) throw new Error(`no template at ${dir} after ${waitMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    templates.set(name, made);
  }
  return made;
}

/**
 * The Argon2id parameters of a set-up home's password entry. "light": LIGHT_KDF, as if its owner had
 * chosen 8 MiB and one pass; "init's": what init chose (64 MiB, four passes, docs/crypto.md).
 */
export type HomeKdf = "light" | "init's";

/**
 * The parameters a set-up home's password entry is re-wrapped with (the product reads each entry's
 * own parameters, and keyRoot.ts accepts these): every start, login, import or passwd on a copied
 * home derives the key once, and at init's 64 MiB x 4 that cost ~0.15 CPU s each, ~50 times a run.
 * Commands that write a new entry (passwd add, change, rekey) still use init's parameters.
 */
const LIGHT_KDF: KdfParams = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

/**
 * Re-wraps the one password entry of the home init set up in `dir` with LIGHT_KDF, as passwd does.
 * The modules are loaded here: only the process that makes a template needs them.
 */
async function lightenKdf(dir: string, password: string): Promise<void> {
  const { homePaths } = await import("../../src/config/homePaths.ts");
  const { SettingsFile } = await import("../../src/config/settings.ts");
  const { loadSodium } = await import("../../src/crypto/sodium.ts");
  const { openHomeStore } = await import("../../src/daemon/homeStore.ts");
  const { changePassword } = await import("../../src/mail/account.ts");
  await loadSodium();
  const paths = homePaths({ AEROGRAMME_LOCAL_HOME: dir });
  const settings = (await SettingsFile.open(paths)).all();
  const store = await openHomeStore(paths, settings);
  try {
    await changePassword(store, password, password, LIGHT_KDF);
  } finally {
    await store.close();
  }
}

/**
 * Puts into `dir` (an existing, empty folder) what `init --user USER --password-stdin` makes there:
 * a copy of a home that init set up once for this user and password in this test run (or this
 * process), so the run pays for init's Argon2id and start-up once, not once per home. The settings
 * name the template's folders; they are rewritten to `dir`. Every copy holds the same account (the
 * same keys): a test that needs two different accounts runs init itself. Its password entry has
 * LIGHT_KDF's parameters unless `kdf` is "init's".
 */
export async function copyHome(
  dir: string,
  opts: { password: string; user?: string; kdf?: HomeKdf },
): Promise<void> {
  await copyTemplate(await template(opts.user ?? "alice", opts.password, opts.kdf ?? "light"), dir);
}

/**
 * Copies the home `from` (a template) into `dir`, an existing, empty folder; the settings name the
 * template's folders and are rewritten to `dir`.
 */
export async function copyTemplate(from: string, dir: string): Promise<void> {
  await copyTree(from, dir);
  const settings = join(dir, "settings.json");
  await writeFile(settings, (await readFile(settings, "utf8")).replaceAll(from, dir));
}

/** A fresh temp home (as tempHome) with an account set up in it (as copyHome). */
export async function setUpHome(opts: {
  password: string;
  user?: string;
  kdf?: HomeKdf;
}): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const home = await tempHome();
  await copyHome(home.dir, opts);
  return home;
}

export interface SetUpHome {
  /** The home folder (AEROGRAMME_LOCAL_HOME) made by `before`. */
  readonly dir: string;
}

interface HomeOptions {
  password: string;
  /** The IMAP login name given to init (default "alice"). */
  user?: string;
  /** The Argon2id parameters of the home's password entry (default "light", see copyHome). */
  kdf?: HomeKdf;
  /** Puts what the tests need into the home once it is set up (before any server starts). */
  prepare?: (dir: string) => Promise<void>;
}

/**
 * For the tests of one describe block: a temp home with an embedded account that `init` made (a
 * copy, see copyHome) before them, removed after them.
 */
export function withSetUpHome(opts: HomeOptions): SetUpHome {
  return setUpHomeHooks(opts, {});
}

export interface ServerFixture extends SetUpHome {
  /** The server `before` started (or the last `start()`). */
  readonly server: RunningServer;
  /**
   * Starts `start --imap-port 0 ...args` on the home now: for tests that first need no server
   * running (`start: "manual"`), that give `start` more options, or that start it again once they
   * stopped it.
   */
  start(args?: string[]): Promise<RunningServer>;
}

/**
 * For the tests of one describe block (or of a file, at its top level): a set-up home (as
 * withSetUpHome) and `start --imap-port 0` on it, before them unless `start: "manual"`. After them
 * the server is killed by its PID (unless a test stopped it already), then the home is removed.
 */
export function withRunningServer(opts: HomeOptions & { start?: "before" | "manual" }): ServerFixture {
  let server: RunningServer | undefined;
  const start = async (args: string[] = []) => {
    const running = server && server.child.exitCode === null && server.child.signalCode === null;
    assert.ok(!running, "the fixture's server is still running: stop it first");
    server = await startServer(["--imap-port", "0", ...args], { home: home.dir });
    return server;
  };
  const home = setUpHomeHooks(opts, {
    ...(opts.start === "manual" ? {} : { ready: () => start() }),
    beforeRemove: async () => {
      await server?.stop("SIGKILL");
    },
  });
  return {
    get dir() {
      return home.dir;
    },
    get server() {
      if (!server) throw new Error("the server is not started yet");
      return server;
    },
    start,
  };
}

/** One `before` and one `after` (node:test runs `after` hooks in the order they were declared). */
function setUpHomeHooks(
  opts: HomeOptions,
  extra: { ready?: () => Promise<unknown>; beforeRemove?: () => Promise<void> },
): SetUpHome {
  let home: { dir: string; cleanup: () => Promise<void> } | undefined;
  before(async () => {
    home = await setUpHome(opts);
    await opts.prepare?.(home.dir);
    await extra.ready?.();
  });
  after(async () => {
    try {
      await extra.beforeRemove?.();
    } finally {
      await home?.cleanup();
    }
  });
  return {
    get dir() {
      if (!home) throw new Error("the home is made in `before`: use it inside a test");
      return home.dir;
    },
  };
}
