/**
 * `passwd rekey [--password-stdin] [--progress]`: a new master key and key pair for the account,
 * and every stored object re-sealed under them (docs/crypto.md, "Key epochs"). Beside a running
 * server the server does it in the background (its IMAP sessions switch at once) and this command
 * follows it through `status`; otherwise it runs here. Either way a job that was stopped (killed,
 * the server stopped) is resumed by running the command again, or by the server's next login.
 */
import { callControl } from "../control/controlClient.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import type { RekeyState } from "../../daemon/rekeyRunner.ts";
import type { RekeyOutcome, RekeyProgress } from "../../mail/rekey/resealJob.ts";
import { adoptAccountHere } from "../adoptAccount.ts";
import { CliError, EXIT } from "../exitCodes.ts";
import { openHomeStore } from "../../daemon/homeStore.ts";
import { openHome, requireAccountHome, requireSetUp, type Home } from "../home.ts";
import { readAccountPassword } from "./import.ts";

export async function run(flags: { passwordStdin?: boolean; progress?: boolean }): Promise<number> {
  const home = await openHome();
  const settings = requireAccountHome(home, "passwd rekey");
  const password = await readAccountPassword(flags.passwordStdin);
  const printer = rekeyPrinter(flags.progress);
  let outcome: RekeyOutcome;
  let viaServer = false;
  try {
    const started = (await callControl(home.paths, { op: "rekey", password })) as { epoch: number } | null;
    if (started) {
      viaServer = true;
      outcome = await followServer(home, printer.update);
    } else {
      outcome = await rekeyHere(home, settings, password, printer.update);
    }
  } finally {
    printer.end();
  }
  const by = viaServer ? " (by the running server)" : "";
  if (!outcome.finished) {
    process.stdout.write(
      `The account has its new key${by} and ${outcome.rewritten} object(s) were re-sealed, but ${outcome.waitingDeliveries} queued deliveries are sealed to the old key: the old key is kept until they are filed. Start the server (or let it run): it files them and finishes; or run \`aerogramme-local passwd rekey\` again.\n`,
    );
    return EXIT.error;
  }
  process.stdout.write(
    `Rekeyed${by}: a new master key and key pair, ${outcome.rewritten} object(s) re-sealed, and the old keys dropped. An old copy of keys/root and an old password open nothing stored now. Only the password you gave opens the account: add the others again with \`aerogramme-local passwd add\`. Other computers: log in again (each re-pins the new public key).\n`,
  );
  return EXIT.ok;
}

/** The job on a store opened here (no server runs for this home). */
async function rekeyHere(
  home: Home,
  settings: ReturnType<typeof requireSetUp>,
  password: string,
  onProgress: (p: RekeyProgress) => void,
): Promise<RekeyOutcome> {
  // Not loaded when the running server does the work.
  const [{ openAccount }, { beginRekey }, { rekeyPending, ResealJob }] = await Promise.all([
    import("../../mail/account.ts"),
    import("../../mail/rekey/rekeyRoot.ts"),
    import("../../mail/rekey/resealJob.ts"),
  ]);
  const store = await openHomeStore(home.paths, settings);
  try {
    const account = await openAccount(store, password, { marksDir: home.paths.marksDir });
    try {
      await adoptAccountHere(home, account); // the key root is the one this home pinned
      if (rekeyPending(account)) {
        process.stderr.write(`resuming the unfinished rekey to key epoch ${account.epochs.epoch}\n`);
      } else {
        await beginRekey(account, password);
        await adoptAccountHere(home, account); // re-pins the new public key
      }
      const outcome = await new ResealJob(account, { onProgress }).run();
      // This home now refuses a key root put back from before the end of the job.
      if (outcome.finished) await adoptAccountHere(home, account);
      return outcome;
    } finally {
      await account.close();
    }
  } finally {
    await store.close();
  }
}

/** Follows the server's job through `status` every half second until it ends. */
async function followServer(home: Home, onProgress: (p: RekeyProgress) => void): Promise<RekeyOutcome> {
  for (;;) {
    const status = (await callControl(home.paths, { op: "status" })) as ServerStatus | null;
    if (!status)
      throw new CliError(
        "the running server stopped during the rekey; it resumes at its next login",
        EXIT.error,
      );
    const rekey: RekeyState | undefined = status.rekey;
    if (rekey?.progress) onProgress(rekey.progress);
    if (rekey?.state === "failed") {
      throw new CliError(`the rekey stopped: ${rekey.error?.message ?? "unknown error"}`, EXIT.error);
    }
    if ((rekey?.state === "done" || rekey?.state === "waiting") && rekey.outcome) return rekey.outcome;
    // A status over the local socket costs little; a rekey of a small account takes under a second.
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** "rekey: meta 1200/5000 (24%), 1300 re-sealed" on stderr, as import's progress line is shown. */
export function rekeyLine(p: RekeyProgress): string {
  const pct = p.total > 0 ? ` (${Math.min(100, Math.floor((p.done / p.total) * 100))}%)` : "";
  return `rekey to key epoch ${p.epoch}: ${p.phase} ${p.done}/${p.total}${pct}, ${p.rewritten} re-sealed`;
}

function rekeyPrinter(force: boolean | undefined) {
  const tty = Boolean(process.stderr.isTTY);
  const enabled = tty || Boolean(force);
  let last = 0;
  let lastPhase: string | undefined;
  let printed = false;
  return {
    update: (p: RekeyProgress): void => {
      // At most twice a second, but every new phase is shown when it starts: a fast phase (meta
      // rows 500 to a batch) would otherwise pass unseen.
      if (!enabled || (Date.now() - last < 500 && p.phase === lastPhase && p.phase !== "done")) return;
      last = Date.now();
      lastPhase = p.phase;
      printed = true;
      process.stderr.write(tty ? `\r${rekeyLine(p)}\x1b[K` : `${rekeyLine(p)}\n`);
    },
    end: (): void => {
      if (tty && printed) process.stderr.write("\n");
    },
  };
}
