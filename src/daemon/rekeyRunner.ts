/**
 * The running server's side of `passwd rekey` (docs/crypto.md, "Key epochs"): the re-seal job runs
 * in the background on the account the IMAP sessions share, so they write under the new key at
 * once; `status` shows its progress. A job left unfinished (the server was killed) is resumed at
 * the next unlock, since the key root then still carries the previous epoch. While deliveries
 * sealed to the old public key wait in the queue, the mover files them and the job tries again.
 */
import type { Account } from "../mail/account.ts";
import { beginRekey } from "../mail/rekey/rekeyRoot.ts";
import { rekeyPending, ResealJob, type RekeyOutcome, type RekeyProgress } from "../mail/rekey/resealJob.ts";
import type { Log } from "../log.ts";
import { AppError, Conflict } from "../errors.ts";

export interface RekeyState {
  state: "running" | "waiting" | "done" | "failed";
  progress?: RekeyProgress;
  outcome?: RekeyOutcome;
  error?: { code: string; message: string };
}

const RETRY_MS = 5_000;

export class RekeyRunner {
  private current: RekeyState | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly stop = new AbortController();

  constructor(
    private readonly opts: {
      log: Log;
      /** Files the incoming queue now (the server's mover). */
      fileQueue: () => Promise<unknown>;
      /**
       * After a new epoch is written and after the job dropped the old one: re-pin this home's
       * public key and mark the epoch it saw; forget cached logins.
       */
      afterKeyChange: (account: Account) => Promise<void>;
    },
  ) {}

  /** What `status` shows; undefined when no rekey ran since the server started. */
  get status(): RekeyState | undefined {
    return this.current && { ...this.current };
  }

  /**
   * Starts a rekey of `account` (a new epoch sealed for `password`, unless one is unfinished:
   * then that one is resumed). Conflict while a job runs here.
   */
  async start(account: Account, password: string): Promise<void> {
    if (this.running)
      throw new Conflict("a rekey is already running on this server: see `aerogramme-local status`");
    if (!rekeyPending(account)) {
      await beginRekey(account, password);
      await this.opts.afterKeyChange(account);
    }
    this.launch(account);
  }

  /** Resumes an unfinished rekey found at an unlock; does nothing when none is open or one runs. */
  resume(account: Account): void {
    if (this.running || this.closed || !rekeyPending(account)) return;
    this.opts.log("info", `resuming the rekey to key epoch ${account.epochs.epoch}`);
    this.launch(account);
  }

  private launch(account: Account): void {
    this.current = { state: "running" };
    this.running = this.loop(account).finally(() => (this.running = undefined));
  }

  private async loop(account: Account): Promise<void> {
    try {
      while (!this.closed) {
        const job = new ResealJob(account, {
          log: this.opts.log,
          fileQueue: false,
          signal: this.stop.signal,
          onProgress: (progress) => (this.current = { ...this.current!, progress }),
        });
        await this.opts.fileQueue().catch(() => undefined);
        const outcome = await job.run();
        this.current = { ...this.current!, outcome, state: outcome.finished ? "done" : "waiting" };
        if (outcome.finished) {
          await this.opts.afterKeyChange(account);
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RETRY_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } catch (err) {
      if (this.stop.signal.aborted) {
        this.current = {
          ...this.current!,
          state: "failed",
          error: { code: "STOPPED", message: "stopped with the server; it resumes at the next login" },
        };
        return;
      }
      const error =
        err instanceof AppError
          ? { code: err.code, message: err.message }
          : { code: "ERROR", message: err instanceof Error ? err.message : String(err) };
      this.current = { ...this.current!, state: "failed", error };
      this.opts.log("error", `the rekey stopped: ${error.message}; it resumes at the next login or restart`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    this.wake?.();
    await this.running;
  }
}
