/**
 * The one place where a running server is wired: the home's store, the account directory, the
 * incoming mail mover (started by the first login), the IMAP server, the control socket and the
 * run file. `start` checks its options, calls startDaemon, prints, and closes it at a signal.
 */
import { readFile } from "node:fs/promises";
import { privateRoots, tightenPermissions } from "../config/homePermissions.ts";
import { ensurePrivateFolder } from "../config/privateFolder.ts";
import type { Settings } from "../config/settingsSchema.ts";
import { NotFound } from "../errors.ts";
import type { Log } from "../log.ts";
import { readKeptKeyRoot } from "../mail/account.ts";
import { KeptKeyRoot } from "../mail/keptKeyRoot.ts";
import type { SearchIndexProgress } from "../mail/search/index.ts";
import type { HomePaths } from "../config/homePaths.ts";
import { AccountDirectory } from "../mail/accountDirectory.ts";
import { CacheFill } from "../mail/cacheFill.ts";
import { IncomingMover } from "../mail/incoming/index.ts";
import { adoptAccount } from "../mail/incoming/deliveryKeys.ts";
import { SENDERS_ROW } from "../mail/incoming/senderRegistry.ts";
import { DeliveryKeyFiles } from "../config/deliveryKeyFiles.ts";
import { readInboxHint, writeInboxHint } from "../config/inboxHint.ts";
import { startImapServer } from "../server/imap/server.ts";
import { startControlServer } from "./control/controlServer.ts";
import { controlHandlers } from "./control/handlers.ts";
import { RekeyRunner } from "./rekeyRunner.ts";
import { removeRunFile, writeRunFile } from "./control/runFile.ts";
import { backendOf, describeBackend, openHomeStore } from "./homeStore.ts";

export interface DaemonOptions {
  paths: HomePaths;
  /** The settings of a home that is set up (`user` set). */
  settings: Settings;
  /** Where IMAP listens; the caller has checked that it may (loopback, or TLS and consent). */
  imap: { host: string; port: number };
  /** Where LMTP listens (loopback), when it does. */
  lmtp?: { host: string; port: number };
  log: Log;
  /** Where the log goes besides standard error (the log file of `start --log-file`), for `status`. */
  logFile?: string;
}

export interface Daemon {
  /** Where IMAP listens (port 0 asked for a free one: this is the one it got). */
  imap: { host: string; port: number; starttls: boolean };
  lmtp?: { host: string; port: number };
  /** Stops everything, last started first, letting writes in flight finish; never rejects. */
  close(): Promise<void>;
  /** What close() waits on now (a part's name), for the log of a stop that takes long. */
  closing(): string | undefined;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { paths, settings } = opts;
  // The latest warning or error, with its time, for `status` (everything logged goes through here).
  let lastProblem: { at: string; level: "warn" | "error"; message: string } | undefined;
  const log: Log = (level, message) => {
    if (level === "warn" || level === "error") lastProblem = { at: new Date().toISOString(), level, message };
    opts.log(level, message);
  };
  const tls =
    settings.tlsCert && settings.tlsKey
      ? { cert: await readFile(settings.tlsCert), key: await readFile(settings.tlsKey) }
      : undefined;
  await closeHomeToOthers(paths, settings, log);
  const backend = describeBackend(backendOf(paths, settings));
  log("info", `opening storage: ${backend}`);
  const store = await openHomeStore(paths, settings, log);
  const closers: { name: string; close: () => Promise<void> }[] = [
    { name: "storage", close: () => store.close() },
  ];
  let closing: string | undefined;
  const close = async () => {
    for (const c of closers.reverse()) {
      closing = c.name;
      const started = Date.now();
      await c.close().catch((err) => log("error", `closing ${c.name}: ${String(err)}`));
      log("debug", `stopped ${c.name} in ${Date.now() - started} ms`);
    }
    closing = undefined;
    closers.length = 0;
  };
  try {
    // Read, not only looked for: the first LOGIN starts Argon2id on it beside its own read.
    const keptKeyRoot = new KeptKeyRoot();
    if (!(await readKeptKeyRoot(store, keptKeyRoot)))
      throw new NotFound("the storage holds no account: run `aerogramme-local init` to make one");
    const deliveryKeys = new DeliveryKeyFiles(paths);
    // INBOX's id as last seen here: LOGIN reads INBOX's index beside Argon2id by it; kept up to
    // date from the sealed list each unlock reads (config/inboxHint.ts; only ever a hint).
    const inboxHint = {
      id: await readInboxHint(paths),
      learned: (id: string) => {
        inboxHint.id = id;
        writeInboxHint(paths, id).catch((err: unknown) =>
          log("warn", `could not keep INBOX's id in ${paths.configDir}: ${String(err)}`),
        );
      },
    };
    // Each unlock pins the account's public key here, or checks it against the pin (issue 12).
    const directory = new AccountDirectory(store, settings.user!, {
      onUnlock: (account) => adoptAccount(deliveryKeys, account),
      account: {
        marksDir: paths.marksDir,
        snapshotsDir: paths.indexSnapshotsDir,
        listViewDir: paths.listViewDir,
        // adoptAccount's read of the sender registry goes beside the key root and Argon2id.
        readAtLogin: [SENDERS_ROW],
        keptKeyRoot,
        inboxHint,
        log,
        ...(settings.searchIndex !== "off" ? { searchIndexDir: paths.searchIndexDir } : {}),
      },
    });
    closers.push({ name: "accounts", close: () => directory.close() });
    // The search index is brought up to date from the first login on (mail/search/indexFiller.ts).
    let searchIndex: SearchIndexProgress | undefined;
    directory.onLogin((account) => {
      account.indexInBackground();
      searchIndex = account.searchIndex?.progress;
    });
    // Delivered mail is filed from the first login on: only then is the secret key in memory.
    const mover = new IncomingMover(store, { log });
    closers.push({ name: "incoming mail mover", close: () => mover.close() });
    // A rekey's re-seal job; one left unfinished is resumed at the first login.
    const rekey = new RekeyRunner({
      log,
      fileQueue: () => mover.moveNow(),
      afterKeyChange: async (account) => {
        await adoptAccount(deliveryKeys, account); // re-pins the new public key here
        directory.forgetVerifier();
      },
    });
    closers.push({ name: "rekey", close: () => rekey.close() });
    directory.onLogin((account) => {
      void mover.startWith(account);
      rekey.resume(account);
    });
    // The local cache is filled in the background from the first login on (the keys are needed
    // to read each message's date and size); one fill per unlocked account.
    let fill: { account: unknown; fill: CacheFill } | undefined;
    const localCache = store.localCache;
    if (localCache && settings.cacheFill !== "off") {
      directory.onLogin((account) => {
        if (fill?.account === account) return;
        void fill?.fill.close();
        fill = {
          account,
          fill: new CacheFill(account, localCache, {
            mode: settings.cacheFill === "meta" ? "meta" : "all",
            log,
          }),
        };
        void fill.fill.start();
      });
      closers.push({ name: "local cache fill", close: async () => void (await fill?.fill.close()) });
    }
    const imapServer = await startImapServer({
      ...opts.imap,
      ...(tls ? { tls } : {}),
      directory,
      maxConnections: settings.imapMaxConnections,
      maxConnectionsPerAddress: settings.imapMaxConnectionsPerAddress,
      log,
    });
    closers.push({ name: "IMAP server", close: () => imapServer.close() });
    // Imported only when LMTP is on (it is off by default): smtp-server and nodemailer hold ~2 MB.
    const lmtpServer = opts.lmtp
      ? await import("./lmtp.ts").then(({ startLmtp }) =>
          startLmtp({ store, deliveryKeys, mover, user: settings.user!, ...opts.lmtp!, log }),
        )
      : undefined;
    if (lmtpServer) closers.push({ name: "LMTP server", close: () => lmtpServer.close() });
    const imap = { ...imapServer.address, starttls: tls !== undefined };
    const startedAt = new Date().toISOString();
    const handlers = controlHandlers({
      store,
      directory,
      deliveryKeys,
      mover,
      rekey,
      status: () => ({
        pid: process.pid,
        startedAt,
        imap,
        ...(lmtpServer ? { lmtp: lmtpServer.address } : {}),
        backend,
        ...(fill ? { cacheFill: fill.fill.status() } : {}),
        ...(searchIndex ? { searchIndex } : {}),
        ...(rekey.status ? { rekey: rekey.status } : {}),
        logs: {
          ...(opts.logFile ? { file: opts.logFile } : {}),
          // systemd sets INVOCATION_ID for every unit it runs: the journal holds standard error.
          journal: process.env.INVOCATION_ID !== undefined,
        },
        ...(lastProblem ? { lastProblem } : {}),
      }),
    });
    const control = await startControlServer(paths, handlers, log);
    closers.push({ name: "control socket", close: () => control.close() });
    await writeRunFile(paths.runFile, { pid: process.pid, startedAt, imap: imapServer.address });
    closers.push({ name: "run file", close: () => removeRunFile(paths.runFile) });
    return {
      imap,
      ...(lmtpServer ? { lmtp: lmtpServer.address } : {}),
      close,
      closing: () => closing,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Homes made by earlier builds (folders 0755, the row log and blobs 0644) let other users copy the
 * key root and guess the password offline: close what is ours, say what is not (issue 12).
 */
async function closeHomeToOthers(paths: HomePaths, settings: Settings, log: Log): Promise<void> {
  // The run file and the pins live in the home folder: it must be ours.
  await ensurePrivateFolder(paths.configDir, { what: "the home folder", followLinks: true });
  const { tightened, left } = await tightenPermissions(privateRoots(paths, settings));
  if (tightened.length > 0)
    log(
      "info",
      `closed ${tightened.length} file(s) and folder(s) to other users (now 0700/0600), e.g. ${tightened[0]!.path}`,
    );
  for (const entry of left.slice(0, 10))
    log(
      "warn",
      `${entry.path} (mode ${entry.mode.toString(8)}) can be reached by other users and could not be closed (${entry.reason}): ${entry.fix}`,
    );
}
