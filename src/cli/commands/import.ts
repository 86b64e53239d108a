/**
 * `import PATH [--format mbox|maildir] [--mailbox NAME] --password-stdin [--json] [--progress]`:
 * an mbox file or a Maildir into one mailbox (INBOX unless named; created if missing). Beside a
 * running server the server reads the files (it holds the store) and this command follows the
 * job's progress through the control socket; otherwise the store is opened here.
 * This file also holds what `export` shares: the password, the progress line, following a job.
 */
import { resolve } from "node:path";
import { canAsk, terminalAsker } from "../asker.ts";
import { callControl } from "../control/controlClient.ts";
import type { JobStatus, TransferFormat, TransferRequest } from "../../daemon/control/protocol.ts";
import { CliError, EXIT, usageError } from "../exitCodes.ts";
import { openHomeStore } from "../../daemon/homeStore.ts";
import { openHome, requireSetUp, type Home } from "../home.ts";
import { adoptAccountHere, keepInboxHint } from "../adoptAccount.ts";
import { readStdinLines } from "../stdinLines.ts";
import type { ImportSummary, TransferProgress } from "../../mail/importExport/index.ts";

export interface TransferFlags {
  format?: TransferFormat;
  mailbox?: string;
  passwordStdin?: boolean;
  json?: boolean;
  progress?: boolean;
}

export async function run(path: string, flags: TransferFlags): Promise<number> {
  const summary = (await transfer("import", path, flags)) as ImportSummary;
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    process.stdout.write(
      `Imported ${summary.messages} new message(s), ${formatBytes(summary.bytes)}, from ${summary.format} ${resolve(path)} into "${summary.mailbox}"${summary.createdMailbox ? " (new mailbox)" : ""} in ${summary.seconds.toFixed(1)} s (${rate(summary.messages, summary.seconds)} msg/s); ${summary.alreadyThere} already there (the same bytes), not added again.\n${summary.folders
        .map(
          (f) =>
            `  Subfolder into "${f.mailbox}"${f.createdMailbox ? " (new mailbox)" : ""}: ${f.messages} new, ${f.alreadyThere} already there.\n`,
        )
        .join("")}${summary.skipped.length > 0 ? `${summary.skipped.length} skipped:\n` : ""}${summary.skipped
        .slice(0, 20)
        .map((k) => `  ${k.where}: ${k.reason}\n`)
        .join(
          "",
        )}${summary.skipped.length > 20 ? `  ... and ${summary.skipped.length - 20} more (--json lists them all)\n` : ""}`,
    );
  return EXIT.ok;
}

/** Runs an import or export through the running server, or on the store opened here. */
export async function transfer(
  op: "import" | "export",
  path: string,
  flags: TransferFlags,
): Promise<unknown> {
  const home = await openHome();
  const settings = requireSetUp(home);
  const password = await readAccountPassword(flags.passwordStdin);
  const request: TransferRequest = {
    password,
    path: resolve(path),
    ...(flags.format ? { format: flags.format } : {}),
    ...(flags.mailbox !== undefined ? { mailbox: flags.mailbox } : {}),
  };
  const printer = progressPrinter(op === "import" ? "imported" : "exported", flags.progress);
  try {
    const started = (await callControl(home.paths, { op, ...request })) as {
      job: string;
    } | null;
    if (started) return await followJob(home, started.job, printer.update);
    // Not loaded when the running server does the work.
    const [api, { openAccount }] = await Promise.all([
      import("../../mail/importExport/index.ts"),
      import("../../mail/account.ts"),
    ]);
    const store = await openHomeStore(home.paths, settings);
    try {
      const account = await openAccount(store, password, {
        marksDir: home.paths.marksDir,
        snapshotsDir: home.paths.indexSnapshotsDir,
        listViewDir: home.paths.listViewDir,
        // Imported mail is indexed for search on the way (written when the account closes), all
        // of it: what waits at the end is built at close from the bytes kept, not left to the
        // server's first pass (its first SEARCH would scan those messages meanwhile).
        ...(op === "import" && settings.searchIndex !== "off"
          ? { searchIndexDir: home.paths.searchIndexDir, searchIndexHoldsAll: true }
          : {}),
      });
      try {
        await adoptAccountHere(home, account);
        await keepInboxHint(home, account);
        const options = {
          path: request.path,
          ...(request.format ? { format: request.format } : {}),
          ...(request.mailbox !== undefined ? { mailbox: request.mailbox } : {}),
        };
        return op === "import"
          ? await api.importMail(account, options, printer.update)
          : await api.exportMail(account, options, printer.update);
      } finally {
        await account.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    printer.end();
  }
}

/** Asks the server for the job's progress every half second until it ends (its error is thrown). */
async function followJob(
  home: Home,
  job: string,
  onProgress: (p: TransferProgress) => void,
): Promise<unknown> {
  for (;;) {
    const status = (await callControl(home.paths, { op: "job", job })) as JobStatus | null;
    if (!status) throw new CliError("the running server stopped during the transfer", EXIT.error);
    if (status.progress) onProgress(status.progress);
    if (status.state === "done") return status.summary;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function readAccountPassword(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) return (await readStdinLines(1, ["the account password"]))[0]!;
  if (!canAsk(false)) throw usageError("--password-stdin is needed (no terminal to ask on)");
  return (await terminalAsker()).secret("Account password (not shown):");
}

/**
 * Progress on stderr at most every half second: on a terminal one line rewritten in place, with
 * --progress (say, into a log) one line each time. Count, rate and, when the total is known, ETA.
 */
export function progressPrinter(verb: string, force: boolean | undefined) {
  const tty = Boolean(process.stderr.isTTY);
  const enabled = tty || Boolean(force);
  let last = 0;
  let printed = false;
  return {
    update: (p: TransferProgress): void => {
      if (!enabled || Date.now() - last < 500) return;
      last = Date.now();
      printed = true;
      const line = progressLine(verb, p);
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    end: (): void => {
      if (tty && printed) process.stderr.write("\n");
    },
  };
}

export function progressLine(verb: string, p: TransferProgress): string {
  const seconds = p.elapsedMs / 1000;
  let line = `${verb} ${p.messages} message(s), ${formatBytes(p.bytes)}, ${rate(p.messages, seconds)} msg/s`;
  const fraction = p.totalBytes
    ? p.bytes / p.totalBytes
    : p.totalMessages
      ? p.messages / p.totalMessages
      : undefined;
  if (fraction !== undefined && fraction > 0) {
    const eta = seconds / fraction - seconds;
    line += `, ${Math.min(100, Math.floor(fraction * 100))}%, ETA ${formatDuration(eta)}`;
  }
  return line;
}

function rate(messages: number, seconds: number): string {
  return seconds > 0 ? (messages / seconds).toFixed(0) : "-";
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
