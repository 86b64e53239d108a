/**
 * `start`: serve IMAP in the foreground until SIGINT or SIGTERM. On a fresh home it first walks
 * through init with the embedded backend. Prints exactly one line on stdout when ready:
 * "IMAP listening on ADDR:PORT"; logs go to stderr.
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { canAsk, terminalAsker } from "../asker.ts";
import { callControl } from "../control/controlClient.ts";
import { startControlServer, type ControlServer } from "../../daemon/control/controlServer.ts";
import { controlHandlers } from "../../daemon/control/handlers.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import { CliError, EXIT, usageError } from "../exitCodes.ts";
import {
  backendOf,
  describeBackend,
  openConfiguredStore,
  openHome,
  requireSetUp,
  type Home,
} from "../home.ts";
import {
  loadDirectory,
  loadImapServer,
  loadIncoming,
  loadLmtpServer,
  loadMail,
  type AccountDirectoryHandle,
  type ImapServerHandle,
} from "../lateModules.ts";
import type { Account } from "../../mail/account.ts";
import { spoolDir } from "./deliver.ts";
import { createLogger, type Log } from "../../log.ts";
import { removeRunFile, writeRunFile } from "../../daemon/control/runFile.ts";
import { runInitFlow } from "../setup/initFlow.ts";
import { summary } from "./init.ts";

export interface StartFlags {
  imapPort?: number;
  bind?: string;
  lmtpPort?: number;
  allowRemote?: boolean;
  user?: string;
  passwordStdin?: boolean;
}

/** How long a stop may wait for writes in flight before giving up. */
const STOP_GRACE_MS = 30_000;

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function run(flags: StartFlags): Promise<number> {
  const home = await openHome();
  if (!home.settings.isSetUp()) await firstRun(home, flags);
  const settings = requireSetUp(home);
  const log = createLogger(settings.logLevel);
  const host = flags.bind ?? settings.imapHost;
  const imapPort = flags.imapPort ?? settings.imapPort;
  const lmtpPort = flags.lmtpPort ?? settings.lmtpPort;
  const tlsConfigured = Boolean(settings.tlsCert && settings.tlsKey);
  if (!isLoopback(host)) {
    if (!flags.allowRemote)
      throw usageError(
        `refusing to listen on ${host}: that is reachable from other computers. Add --allow-remote if you mean it (TLS must be configured: \`aerogramme-local init --tls\` or \`config set tlsCert/tlsKey\`).`,
      );
    if (!tlsConfigured)
      throw usageError(
        `refusing to listen on ${host} without TLS: set tlsCert and tlsKey (\`aerogramme-local config set tlsCert FILE\`) first`,
      );
  }

  const running = (await callControl(home.paths.controlSocket, { op: "status" }, 5_000).catch(
    () => null,
  )) as ServerStatus | null;
  if (running)
    throw new CliError(
      `a server already runs for this home (pid ${running.pid}, IMAP on ${hostPort(running.imap.host, running.imap.port)}). Stop it first, or use another AEROGRAMME_LOCAL_HOME.`,
      EXIT.alreadyRunning,
    );

  const tls = tlsConfigured
    ? { cert: await readFile(settings.tlsCert!), key: await readFile(settings.tlsKey!) }
    : undefined;
  const [mail, { AccountDirectory }, { startImapServer }, { IncomingMover }] = await Promise.all([
    loadMail(),
    loadDirectory(),
    loadImapServer(),
    loadIncoming(),
  ]);
  const backend = backendOf(home, settings);
  log("info", `opening storage: ${describeBackend(backend)}`);
  const store = await openConfiguredStore(home, settings);
  const closers: { name: string; close: () => Promise<void> }[] = [
    { name: "storage", close: () => store.close() },
  ];
  const stopAll = async () => {
    for (const c of closers.reverse())
      await c.close().catch((err) => log("error", `closing ${c.name}: ${String(err)}`));
    closers.length = 0;
  };
  try {
    if (!(await mail.accountExists(store)))
      throw new CliError(
        "the storage holds no account: run `aerogramme-local init` to make one",
        EXIT.notSetUp,
      );
    const unlocked = new AccountDirectory(store, settings.user!, undefined, {
      marksDir: home.paths.marksDir,
      log,
    });
    closers.push({ name: "accounts", close: () => unlocked.close() });
    // Delivered mail is filed from the first login on: only then is the secret key in memory.
    const mover = new IncomingMover(store, { log });
    closers.push({ name: "incoming mail mover", close: () => mover.close() });
    const directory = startingMover(unlocked, mover);
    const imap = await startImapServer({
      host,
      port: imapPort,
      ...(tls ? { tls } : {}),
      directory,
      accounts: directory,
      log,
    });
    closers.push({ name: "IMAP server", close: () => imap.close() });
    const imapAddress = addressOf(imap, host, imapPort);
    let lmtp: { host: string; port: number } | undefined;
    if (lmtpPort) {
      const { startLmtpServer } = await loadLmtpServer();
      const server = await startLmtpServer({ host: "127.0.0.1", port: lmtpPort, store, log });
      closers.push({ name: "LMTP server", close: () => server.close() });
      lmtp = addressOf(server, "127.0.0.1", lmtpPort);
    }
    const startedAt = new Date().toISOString();
    const control: ControlServer = await startControlServer(
      home.paths.controlSocket,
      controlHandlers({
        store,
        mail,
        directory,
        spoolDir: spoolDir(home),
        mover,
        status: () => ({
          pid: process.pid,
          startedAt,
          imap: { ...imapAddress, starttls: Boolean(tls) },
          ...(lmtp ? { lmtp } : {}),
          backend: describeBackend(backend),
        }),
      }),
      log,
    );
    closers.push({ name: "control socket", close: () => control.close() });
    await writeRunFile(home.paths.runFile, {
      pid: process.pid,
      startedAt,
      imap: imapAddress,
      ...(lmtp ? { lmtp } : {}),
    });
    closers.push({ name: "run file", close: () => removeRunFile(home.paths.runFile) });
    if (lmtp) log("info", `LMTP listening on ${hostPort(lmtp.host, lmtp.port)}`);
    log("info", `ready: user ${settings.user}, STARTTLS ${tls ? "on" : "off"}; stop with Ctrl-C or SIGTERM`);
    process.stdout.write(`IMAP listening on ${hostPort(imapAddress.host, imapAddress.port)}\n`);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return waitForStop(log, stopAll);
}

/** The directory, starting the mover with the account at each successful login (the first one starts it). */
function startingMover(
  directory: AccountDirectoryHandle,
  mover: { startWith(account: Account, password: string): Promise<void> },
): AccountDirectoryHandle {
  return {
    get user() {
      return directory.user;
    },
    async login(user, password) {
      const account = await directory.login(user, password);
      // The directory hands out the real Account; lateModules only describes the part the CLI uses.
      void mover.startWith(account as unknown as Account, password);
      return account;
    },
    forgetVerifier: () => directory.forgetVerifier(),
    close: () => directory.close(),
  };
}

function addressOf(server: ImapServerHandle, host: string, port: number): { host: string; port: number } {
  if (server.address) return server.address;
  return { host, port: server.port ?? port };
}

/** Resolves with the exit code once a signal has stopped everything (a second signal forces it). */
function waitForStop(log: Log, stopAll: () => Promise<void>): Promise<number> {
  // conf's atomic writes pull in `when-exit`, which on the first SIGINT/SIGTERM re-raises the signal
  // at the process, so a clean stop would turn into a forced one. Nothing is written to the
  // settings while serving: this process owns these two signals from here on.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(signal);
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log("warn", `${signal} again: stopping at once`);
        process.exit(EXIT.error);
      }
      stopping = true;
      log("info", `${signal}: stopping; letting writes in flight finish`);
      const force = setTimeout(() => {
        log("error", `writes still in flight after ${STOP_GRACE_MS / 1000} s: stopping anyway`);
        process.exit(EXIT.error);
      }, STOP_GRACE_MS);
      force.unref();
      void stopAll().then(() => {
        clearTimeout(force);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        log("info", "stopped");
        resolve(EXIT.ok);
      });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** A fresh home: set up the embedded backend first, asking on the terminal or reading stdin. */
async function firstRun(home: Home, flags: StartFlags): Promise<void> {
  const embedded = {
    backend: "embedded" as const,
    dataDir: home.paths.defaultDataDir,
    tls: false,
    ...(flags.user ? { user: flags.user } : {}),
  };
  if (flags.passwordStdin) {
    const result = await runInitFlow(home, { ...embedded, passwordStdin: true, yes: true }, null);
    process.stderr.write(summary(result, home.settings.all()));
    return;
  }
  if (!canAsk(false))
    throw new CliError(
      `nothing is set up in ${home.paths.configDir} yet and there is no terminal to ask on: run \`aerogramme-local init\`, or \`aerogramme-local start --password-stdin\` to make an account on the embedded backend`,
      EXIT.notSetUp,
    );
  const asker = await terminalAsker();
  asker.say(
    `Nothing is set up here yet. Let's make an account whose mail is kept encrypted in ${home.paths.defaultDataDir}.`,
  );
  const result = await runInitFlow(home, embedded, asker);
  process.stdout.write(summary(result, home.settings.all()));
}
