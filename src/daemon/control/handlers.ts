/**
 * What a running server answers on its control socket: status, password changes, deliveries,
 * imports and exports, all on its own store (which no other process may open beside it).
 */
import { randomBytes } from "node:crypto";
import { isAbsolute } from "node:path";
import { Invalid, NotFound } from "../../errors.ts";
import { addPassword, changePassword, removePassword } from "../../mail/account.ts";
import type { AccountDirectory } from "../../mail/accountDirectory.ts";
import {
  deliveryPublicKey,
  enqueueDelivery,
  homeSender,
  type HomeDeliveryKeys,
  type IncomingMover,
} from "../../mail/incoming/index.ts";
import type { Store } from "../../storage/types.ts";
import type { ControlHandler } from "./controlServer.ts";
import type { RekeyRunner } from "../rekeyRunner.ts";
import type { DeliverRequest, DeliverResult, JobStatus, ServerStatus, TransferRequest } from "./protocol.ts";
import { storageCheck } from "./storageCheck.ts";

/** The incoming mail mover of the server, as far as the handlers use it. */
export type MoverHandle = Pick<IncomingMover, "running" | "poke" | "moveNow" | "filedInto">;

export function controlHandlers(opts: {
  store: Store;
  directory: AccountDirectory;
  status: () => Omit<ServerStatus, "storage" | "mailboxes">;
  /** The home's pinned public key and sender key, which `deliver` seals with. */
  deliveryKeys?: HomeDeliveryKeys;
  mover?: MoverHandle;
  /** Runs `passwd rekey`'s job on the shared account. */
  rekey?: Pick<RekeyRunner, "start">;
}): ControlHandler {
  const jobs = new Jobs();
  return async (request, body) => {
    switch (request.op) {
      case "status": {
        const storage = await storageCheck(opts.store);
        const status: ServerStatus = { ...opts.status(), storage };
        if (request.password !== undefined) {
          // Through the directory: the same account the IMAP sessions use, with its failure delays.
          const account = await opts.directory.login(opts.directory.user, request.password);
          status.mailboxes = (await account.summary()).mailboxes;
        }
        return status;
      }
      case "passwd": {
        const { action, current, next } = request;
        if (action !== "remove" && !next) throw new Invalid("a new password is needed");
        if (action === "add") await addPassword(opts.store, current, next!);
        else if (action === "change") await changePassword(opts.store, current, next!);
        else if (action === "remove") await removePassword(opts.store, current);
        else throw new Invalid(`unknown passwd action`);
        // Logins are checked against a cached hash of the last good password: drop it.
        opts.directory.forgetVerifier();
        return { done: action };
      }
      case "rekey": {
        if (!opts.rekey) throw new Invalid("this server does not run rekeys");
        // Through the directory: the account the IMAP sessions share, so they seal under the new key.
        const account = await opts.directory.login(opts.directory.user, request.password);
        await opts.rekey.start(account, request.password);
        return { started: true, epoch: account.epochs.epoch };
      }
      case "deliver":
        return deliver(opts.store, opts.deliveryKeys, opts.mover, request, body);
      case "import":
      case "export": {
        checkTransfer(request);
        // Through the directory: the account the IMAP sessions share, so they see the new mail.
        const account = await opts.directory.login(opts.directory.user, request.password);
        const options = {
          path: request.path,
          ...(request.format ? { format: request.format } : {}),
          ...(request.mailbox !== undefined ? { mailbox: request.mailbox } : {}),
        };
        return {
          job: jobs.start(async (signal, progress) => {
            // The mbox and Maildir code is loaded by the first import or export, not at every start.
            const { exportMail, importMail } = await import("../../mail/importExport/index.ts");
            return request.op === "import"
              ? importMail(account, { ...options, signal }, progress)
              : exportMail(account, { ...options, signal }, progress);
          }),
        };
      }
      case "job":
        return jobs.status(request.job);
      default:
        throw new Invalid("unknown control request");
    }
  };
}

function checkTransfer(request: TransferRequest): void {
  if (typeof request.path !== "string" || !isAbsolute(request.path))
    throw new Invalid("the path must be absolute: the server does not share the client's working folder");
  if (request.format !== undefined && request.format !== "mbox" && request.format !== "maildir")
    throw new Invalid("the format is mbox or maildir");
}

/**
 * The message that followed a `deliver` request, sealed here as `deliver` would seal it with no
 * server (to the pinned key once storage's key root names it too, from this home's sender key,
 * read at each delivery: the first unlock makes it), queued, then filed if possible.
 */
async function deliver(
  store: Store,
  deliveryKeys: HomeDeliveryKeys | undefined,
  mover: MoverHandle | undefined,
  request: DeliverRequest,
  raw: Buffer,
): Promise<DeliverResult> {
  if (!deliveryKeys) throw new Invalid("this server takes no deliveries");
  if (typeof request.mailbox !== "string" || !Number.isFinite(request.internalDate))
    throw new Invalid("a delivery names its mailbox and its date");
  const publicKey = await deliveryPublicKey(store, deliveryKeys);
  const sender = await homeSender(deliveryKeys);
  const delivery = { mailbox: request.mailbox, internalDate: request.internalDate, raw };
  const key = await enqueueDelivery(store, delivery, publicKey, sender);
  if (!mover?.running) return { queued: key, filed: false, moverRunning: false };
  // Filed within a few seconds in the usual case; otherwise it stays queued, which is safe too.
  await Promise.race([mover.moveNow().catch(() => 0), new Promise((r) => setTimeout(r, 10_000).unref())]);
  const filed = (await store.blobs.head(key)) === null;
  const filedInto = filed ? mover.filedInto(key) : undefined;
  return { queued: key, filed, ...(filedInto !== undefined ? { filedInto } : {}), moverRunning: true };
}

type Progress = NonNullable<JobStatus["progress"]>;

interface Job {
  progress?: Progress;
  summary?: unknown;
  error?: unknown;
  done: boolean;
  lastAsked: number;
  abort: AbortController;
}

/** Imports and exports in flight; a job whose client stopped asking is cancelled. */
class Jobs {
  private readonly jobs = new Map<string, Job>();
  private sweeper: NodeJS.Timeout | undefined;

  start(work: (signal: AbortSignal, progress: (p: Progress) => void) => Promise<unknown>): string {
    const id = randomBytes(8).toString("hex");
    const job: Job = { done: false, lastAsked: Date.now(), abort: new AbortController() };
    this.jobs.set(id, job);
    work(job.abort.signal, (p) => (job.progress = p)).then(
      (summary) => Object.assign(job, { summary, done: true }),
      (error: unknown) => Object.assign(job, { error, done: true }),
    );
    this.sweeper ??= setInterval(() => this.sweep(), 5_000).unref();
    return id;
  }

  status(id: string): JobStatus {
    const job = this.jobs.get(id);
    if (!job) throw new NotFound("no such job on this server (it ended, or the server restarted)");
    job.lastAsked = Date.now();
    if (!job.done) return { state: "running", ...(job.progress ? { progress: job.progress } : {}) };
    this.jobs.delete(id);
    if (job.error !== undefined)
      throw job.error instanceof Error
        ? job.error
        : new Error(`the job failed: ${JSON.stringify(job.error)}`);
    return { state: "done", ...(job.progress ? { progress: job.progress } : {}), summary: job.summary };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, job] of this.jobs) {
      if (now - job.lastAsked < 30_000) continue;
      if (!job.done) job.abort.abort(new Invalid("cancelled: its client stopped asking"));
      this.jobs.delete(id);
    }
    if (this.jobs.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
