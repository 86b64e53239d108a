/**
 * `start`: serve IMAP in the foreground until SIGINT or SIGTERM. On a fresh home it first walks
 * through init with the embedded backend. It checks its options, starts the daemon (src/daemon/)
 * and prints exactly one line on stdout when ready: "IMAP listening on ADDR:PORT"; logs go to stderr.
 */
import { NotPrivate } from "../../config/privateFolder.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import { resolve } from "node:path";
import type { Settings } from "../../config/settingsSchema.ts";
import { createLogger, type Log } from "../../log.ts";
import { canAsk, terminalAsker } from "../asker.ts";
import { callControl } from "../control/controlClient.ts";
import { CliError, describeError, EXIT, usageError } from "../exitCodes.ts";
import { openHome, requireAccountHome, type Home } from "../home.ts";
import { hostPort, isLoopback } from "../listenAddress.ts";
import { portRefusal } from "../portRefusal.ts";
import type { InitResult } from "../setup/initFlow.ts";

export interface StartFlags {
  imapPort?: number;
  bind?: string;
  lmtpPort?: number;
  allowRemote?: boolean;
  user?: string;
  passwordStdin?: boolean;
  allowWeakPassword?: boolean;
  logFile?: string;
}

/** How long a stop may wait for writes in flight before giving up. */
const STOP_GRACE_MS = 30_000;

export async function run(flags: StartFlags): Promise<number> {
  const home = await openHome();
  const firstRunDone = home.settings.isSetUp() ? null : await firstRun(home, flags);
  const settings = requireAccountHome(home, "start");
  const logPath = flags.logFile !== undefined ? resolve(flags.logFile) : settings.logFile;
  const logFile = logPath ? await (await import("../../daemon/logFile.ts")).openLogFile(logPath) : undefined;
  const log = createLogger(settings.logLevel, logFile ? [process.stderr, logFile.stream] : process.stderr);
  try {
    return await serve(home, settings, flags, firstRunDone, log, logPath);
  } catch (err) {
    // Standard error gets it from main; a run under a service manager may only keep the file.
    if (logFile) createLogger("error", logFile.stream)("error", describeError(err).message);
    throw err;
  } finally {
    await logFile?.close();
  }
}

async function serve(
  home: Home,
  settings: Settings,
  flags: StartFlags,
  firstRunDone: { result: InitResult; onTerminal: boolean } | null,
  log: Log,
  logPath: string | undefined,
): Promise<number> {
  const host = flags.bind ?? settings.imapHost;
  const imapPort = flags.imapPort ?? settings.imapPort;
  const lmtpPort = flags.lmtpPort ?? settings.lmtpPort;
  if (!isLoopback(host)) {
    if (!flags.allowRemote)
      throw usageError(
        `refusing to listen on ${host}: that is reachable from other computers. Add --allow-remote if you mean it (TLS must be configured: \`aerogramme-local init --tls\` or \`config set tlsCert/tlsKey\`).`,
      );
    if (!(settings.tlsCert && settings.tlsKey))
      throw usageError(
        `refusing to listen on ${host} without TLS: set tlsCert and tlsKey (\`aerogramme-local config set tlsCert FILE\`) first`,
      );
  }

  // A socket another user made (or a folder they could write) is refused here, before storage is
  // opened; a live server of ours that does not answer in time is not.
  const running = (await callControl(home.paths, { op: "status" }, 5_000).catch((err: unknown) => {
    if (err instanceof NotPrivate) throw err;
    return null;
  })) as ServerStatus | null;
  if (running)
    throw new CliError(
      `a server already runs for this home (pid ${running.pid}, IMAP on ${hostPort(running.imap.host, running.imap.port)}). Stop it first, or use another AEROGRAMME_LOCAL_HOME.`,
      EXIT.alreadyRunning,
    );

  // The daemon and everything it serves are loaded only now: the refusals above answer at once. The
  // first run's summary (init's) is loaded before the daemon starts, so nothing fails once it runs.
  const { startDaemon } = await import("../../daemon/daemon.ts");
  const summary = firstRunDone ? (await import("./init.ts")).summary : undefined;
  const daemon = await startDaemon({
    paths: home.paths,
    settings,
    imap: { host, port: imapPort },
    ...(logPath ? { logFile: logPath } : {}),
    // LMTP is for the mail host on this computer: loopback only, whatever IMAP binds.
    ...(lmtpPort ? { lmtp: { host: "127.0.0.1", port: lmtpPort } } : {}),
    log,
  }).catch(async (err: unknown) => {
    const lmtp =
      lmtpPort !== 0 && (err as { port?: number } | null)?.port === lmtpPort && lmtpPort !== imapPort;
    const use = lmtp
      ? { what: "LMTP", port: lmtpPort, setting: "lmtpPort", fromFlag: flags.lmtpPort !== undefined }
      : { what: "IMAP", port: imapPort, setting: "imapPort", fromFlag: flags.imapPort !== undefined };
    throw (await portRefusal(err, use)) ?? err;
  });
  // The signals are ours before anything says the server is ready: whoever waits for the ready line
  // may stop it at once.
  const stopped = waitForStop(
    log,
    () => daemon.close(),
    () => daemon.closing(),
  );
  log(
    "info",
    `ready: user ${settings.user}, STARTTLS ${daemon.imap.starttls ? "on" : "off"}; stop with Ctrl-C or SIGTERM`,
  );
  if (firstRunDone && summary) {
    // Printed once the port is known: `--imap-port 0` or a flag differ from the setting.
    const text = summary(
      firstRunDone.result,
      { ...settings, imapHost: host, imapPort: daemon.imap.port },
      {
        next: false,
      },
    );
    (firstRunDone.onTerminal ? process.stdout : process.stderr).write(text);
  }
  if (daemon.lmtp)
    process.stdout.write(`LMTP listening on ${hostPort(daemon.lmtp.host, daemon.lmtp.port)}\n`);
  // Last: this line says the server is ready.
  process.stdout.write(`IMAP listening on ${hostPort(daemon.imap.host, daemon.imap.port)}\n`);
  return stopped;
}

/** How often a stop that takes long says what it still waits on. */
const STOP_REPORT_MS = 5_000;
/** How long the process may linger once everything is stopped, before it exits anyway. */
const EXIT_LINGER_MS = 2_000;

/**
 * Resolves with the exit code once a signal has stopped everything (a second signal forces it).
 * `waitingOn` names the part the stop waits on now, for the log of a slow stop.
 */
export function waitForStop(
  log: Log,
  stopAll: () => Promise<void>,
  waitingOn: () => string | undefined = () => undefined,
): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log("warn", `${signal} again: stopping at once`);
        process.exit(EXIT.error);
      }
      stopping = true;
      log("info", `${signal}: stopping; letting writes in flight finish`);
      const startedAt = Date.now();
      const report = setInterval(() => {
        const part = waitingOn();
        log(
          "warn",
          `still stopping after ${Math.round((Date.now() - startedAt) / 1000)} s${part ? `: waiting on ${part}` : ""}`,
        );
      }, STOP_REPORT_MS);
      report.unref();
      const force = setTimeout(() => {
        const part = waitingOn();
        log(
          "error",
          `writes still in flight after ${STOP_GRACE_MS / 1000} s${part ? ` (${part})` : ""}: stopping anyway`,
        );
        process.exit(EXIT.error);
      }, STOP_GRACE_MS);
      force.unref();
      void stopAll().then(() => {
        clearTimeout(force);
        clearInterval(report);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        log("info", "stopped");
        lingerBound(log);
        resolve(EXIT.ok);
      });
    };
    // conf's atomic writes pull in `when-exit`, which on the first SIGINT/SIGTERM re-raises the
    // signal at the process, so a clean stop would turn into a forced one. Nothing is written to the
    // settings while serving: this process owns these two signals from here on. Ours go on before
    // the others come off: a signal with no listener left even for an instant is lost (libuv drops
    // one already caught for the closed handle) or kills the process (the default action comes back).
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, onSignal);
      for (const other of process.listeners(signal)) if (other !== onSignal) process.off(signal, other);
    }
  });
}

/**
 * Everything is stopped and the exit code set: the process ends when nothing keeps Node's event loop
 * alive. Something left open (a handle no part closed) must not turn a stop into a hang: exit anyway
 * after EXIT_LINGER_MS, naming what was still open.
 */
function lingerBound(log: Log): void {
  const linger = setTimeout(() => {
    log("warn", `still open after the stop: ${process.getActiveResourcesInfo().join(", ")}; exiting anyway`);
    process.exit(process.exitCode ?? EXIT.ok);
  }, EXIT_LINGER_MS);
  linger.unref();
}

/**
 * A fresh home: set up the embedded backend first, asking on the terminal or reading stdin. The set-up
 * code (init's flow, its probes, the password judge, the TLS certificate maker) is loaded only here:
 * a start on a set-up home, nearly every start, needs none of it.
 */
async function firstRun(home: Home, flags: StartFlags): Promise<{ result: InitResult; onTerminal: boolean }> {
  const { runInitFlow } = await import("../setup/initFlow.ts");
  const embedded = {
    backend: "embedded" as const,
    dataDir: home.paths.defaultDataDir,
    tls: false,
    ...(flags.user ? { user: flags.user } : {}),
    ...(flags.allowWeakPassword ? { allowWeakPassword: true } : {}),
  };
  if (flags.passwordStdin) {
    const result = await runInitFlow(home, { ...embedded, passwordStdin: true, yes: true }, null);
    return { result, onTerminal: false };
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
  return { result, onTerminal: true };
}
