/**
 * The re-seal job of a rekey (docs/crypto.md, "Key epochs"): every object sealed under an earlier
 * key epoch is sealed again under the current one, then the earlier epoch is dropped from the key
 * root, so that an old copy of `keys/root` and an old password open nothing storage still holds.
 *
 * Resumable without a journal: each object names the epoch that sealed it, so a pass skips what is
 * done already, and the key root keeps the earlier epoch (and so the job "open") until a pass finds
 * nothing left. A run killed at any point is finished by the next one.
 *
 * In order: the mailbox list, each mailbox's index (op rows in place, the newest checkpoint as a
 * new one: Bayou.reseal), the meta rows (in place: same id, same message key), the incoming rows
 * (filed record, senders, lease), this computer's marks, then the incoming queue, whose boxes are
 * sealed to a public key and cannot be re-sealed: those sealed to the old key are filed first (a
 * running mover does it; the job tries once itself), and the job waits while any is left. Then a
 * second pass must rewrite nothing, and the root drops the earlier epoch.
 *
 * Bodies are not rewritten: each is sealed with its own message key, which is in its meta row, so
 * once every meta row is under the new epoch an old master key reaches no body through storage.
 */
import { open, seal, sealedEpoch, type SealContext } from "../../crypto/aead.ts";
import { openSealedBox } from "../../crypto/sealedBox.ts";
import type { Log } from "../../log.ts";
import type { RowWrite } from "../../storage/types.ts";
import type { Account } from "../account.ts";
import { INCOMING_PREFIX } from "../incoming/deliveryBox.ts";
import { FILED_ROW } from "../incoming/filedDeliveries.ts";
import { IncomingMover } from "../incoming/incomingMover.ts";
import { isIncomingKey } from "../incoming/incomingQueue.ts";
import { LEASE_ROW } from "../incoming/moverLease.ts";
import { SENDERS_ROW } from "../incoming/senderRegistry.ts";
import { listSegmentPrefix } from "../listSegments.ts";
import { META_PK } from "../messageLayout.ts";
import { metaContext } from "../messageStore.ts";
import { endRekey } from "./rekeyRoot.ts";

export type RekeyPhase = "mailbox list" | "indexes" | "meta" | "incoming" | "queue" | "checking" | "done";

export interface RekeyProgress {
  /** The key epoch everything is being sealed under. */
  epoch: number;
  phase: RekeyPhase;
  /** Objects looked at in this phase, and how many the phase holds (an estimate for meta). */
  done: number;
  total: number;
  /** Objects rewritten so far, all phases. */
  rewritten: number;
}

export interface RekeyOutcome {
  /** True when the earlier epoch was dropped; false when deliveries sealed to its key wait in the queue. */
  finished: boolean;
  rewritten: number;
  /** Queued deliveries still sealed to the earlier key (finished is false while there are any). */
  waitingDeliveries: number;
}

export interface ResealOptions {
  log?: Log;
  onProgress?: (progress: RekeyProgress) => void;
  /** File the queue before checking it (default true; false when a running mover does it). */
  fileQueue?: boolean;
  /** Stops the job between two objects (it resumes from storage at its next run). */
  signal?: AbortSignal;
  /** Called after each object rewritten: a test's way to stop the job at a chosen point. */
  afterWrite?: () => void | Promise<void>;
}

const META_PAGE = 500;
/** Passes after the first that may still find something (another writer that had not noticed). */
const MAX_CHECK_PASSES = 3;

/** Whether the account still carries an earlier key epoch: a rekey is open. */
export function rekeyPending(account: Account): boolean {
  return account.epochs.previous.length > 0;
}

export class ResealJob {
  private rewritten = 0;
  private progress: RekeyProgress;

  constructor(
    private readonly account: Account,
    private readonly opts: ResealOptions = {},
  ) {
    this.progress = { epoch: account.epochs.epoch, phase: "mailbox list", done: 0, total: 1, rewritten: 0 };
  }

  get current(): RekeyProgress {
    return { ...this.progress };
  }

  async run(): Promise<RekeyOutcome> {
    if (!rekeyPending(this.account)) {
      this.report("done", 0, 0);
      return { finished: true, rewritten: 0, waitingDeliveries: 0 };
    }
    await this.pass();
    for (let i = 0; ; i++) {
      const waitingDeliveries = await this.queue();
      if (waitingDeliveries > 0) {
        this.opts.log?.(
          "info",
          `rekey: ${waitingDeliveries} queued deliveries are sealed to the old key; the key is kept until they are filed`,
        );
        return { finished: false, rewritten: this.rewritten, waitingDeliveries };
      }
      const before = this.rewritten;
      this.progress.phase = "checking";
      await this.pass();
      if (this.rewritten === before) break;
      if (i + 1 >= MAX_CHECK_PASSES) {
        return { finished: false, rewritten: this.rewritten, waitingDeliveries: 0 };
      }
    }
    await endRekey(this.account);
    this.report("done", 1, 1);
    this.opts.log?.(
      "info",
      `rekey to key epoch ${this.account.epochs.epoch} done: ${this.rewritten} objects re-sealed`,
    );
    return { finished: true, rewritten: this.rewritten, waitingDeliveries: 0 };
  }

  /** One pass over everything sealed under a subkey of the master key. */
  private async pass(): Promise<void> {
    const checking = this.progress.phase === "checking";
    const phase = (p: RekeyPhase) => (checking ? "checking" : p);
    this.report(phase("mailbox list"), 0, 1);
    const listRow = await this.account.store.rows.read("mailboxes", "list");
    if (listRow && !listRow.values.every((v) => this.isCurrent(v))) {
      await this.account.mailboxList.update((list) => [list, undefined]);
      await this.wrote();
    }
    await this.account.resealMark("mailboxes/list");
    this.report(phase("mailbox list"), 1, 1);

    const { mailboxes } = await this.account.listMailboxes();
    let messages = 0;
    for (const [i, info] of mailboxes.entries()) {
      this.report(phase("indexes"), i, mailboxes.length);
      const mailbox = await this.account.listedMailbox(info);
      const n = await mailbox.reseal((sealed) => this.isCurrent(sealed));
      for (let k = 0; k < n; k++) await this.wrote();
      await this.dropOldListSegments(info.id);
      await this.account.resealMark(`index/${info.id}`);
      messages += mailbox.index.uids.length;
    }

    let done = 0;
    let start: string | undefined;
    do {
      const page = await this.account.store.rows.readRange(META_PK, { start, limit: META_PAGE });
      // One batch of writes per page (a meta row has one value: it is written once, at append).
      const ring = this.account.subkey("message-meta");
      const writes: RowWrite[] = [];
      for (const row of page.items) {
        const value = row.values[0];
        if (row.values.length !== 1 || !value || this.isCurrent(value)) continue;
        const ctx = metaContext(row.sk);
        writes.push({
          pk: META_PK,
          sk: row.sk,
          value: seal(ring, open(ring, value, ctx), ctx),
          token: row.token,
        });
      }
      if (writes.length > 0) await this.account.store.rows.insertBatch(writes);
      for (const row of page.items) {
        done++;
        if (
          row.values.length > 1 &&
          (await this.resealRow(META_PK, row.sk, metaContext(row.sk), "message-meta"))
        )
          await this.wrote();
        this.report(phase("meta"), done, Math.max(done, messages));
      }
      for (let i = 0; i < writes.length; i++) await this.wrote();
      start = page.nextStart;
    } while (start);

    const rows = [FILED_ROW, SENDERS_ROW, LEASE_ROW];
    for (const [i, row] of rows.entries()) {
      this.report(phase("incoming"), i, rows.length);
      if (await this.resealRow(row.pk, row.sk, row.context, row.subkey)) await this.wrote();
    }
    await this.account.resealMark(`${FILED_ROW.pk}/${FILED_ROW.sk}`);
  }

  /**
   * Re-seals row (pk, sk) if any of its values is under an earlier epoch: each sibling is kept
   * (its owner merges them on read); true when it was rewritten.
   */
  /**
   * The mailbox's shared list segments (sharedListView.ts) sealed under an earlier epoch are
   * deleted, not re-sealed: a cache, written again by the next computer that lists the mailbox.
   */
  private async dropOldListSegments(mailboxId: string): Promise<void> {
    const { blobs } = this.account.store;
    let after: string | undefined;
    do {
      const page = await blobs.list(listSegmentPrefix(mailboxId), after, 1000);
      for (const key of page.keys) {
        const sealed = await blobs.get(key);
        if (sealed && !this.isCurrent(sealed)) await blobs.delete(key);
      }
      after = page.nextStartAfter;
    } while (after !== undefined);
  }

  private async resealRow(pk: string, sk: string, ctx: SealContext, purpose: string): Promise<boolean> {
    const row = await this.account.store.rows.read(pk, sk);
    if (!row || row.values.length === 0 || row.values.every((v) => this.isCurrent(v))) return false;
    const ring = this.account.subkey(purpose);
    const [first, ...rest] = row.values.map((v) => seal(ring, open(ring, v, ctx), ctx));
    await this.account.store.rows.insert(pk, sk, first!, row.token);
    for (const value of rest) await this.account.store.rows.insert(pk, sk, value);
    return true;
  }

  /** Files what it can, then counts queued deliveries that only an earlier epoch's key opens. */
  private async queue(): Promise<number> {
    const { store } = this.account;
    if (this.opts.fileQueue !== false) {
      const mover = new IncomingMover(store, this.opts.log ? { log: this.opts.log } : {});
      await mover.startWith(this.account);
      try {
        await mover.moveNow();
      } finally {
        await mover.close();
      }
    }
    const keys: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await store.blobs.list(INCOMING_PREFIX, startAfter, 1000);
      keys.push(...page.keys.filter(isIncomingKey));
      startAfter = page.nextStartAfter;
    } while (startAfter);
    let waiting = 0;
    for (const [i, key] of keys.entries()) {
      this.report("queue", i, keys.length);
      // The boxed message key: 1 version byte, then at most 152 bytes (deliveryBox.ts).
      const head = await store.blobs.get(key, { start: 0, end: 152 });
      if (head && this.onlyOldKeyOpens(head)) waiting++;
    }
    return waiting;
  }

  private onlyOldKeyOpens(head: Uint8Array): boolean {
    const boxed = head.subarray(1, head[0] === 1 ? 81 : 153);
    const opens = (pair: { publicKey: Uint8Array; secretKey: Uint8Array }) => {
      try {
        openSealedBox(pair, boxed);
        return true;
      } catch {
        return false;
      }
    };
    return !opens(this.account.epochs.current) && this.account.epochs.previous.some(opens);
  }

  private isCurrent(sealed: Uint8Array): boolean {
    return sealedEpoch(sealed) === this.account.epochs.epoch;
  }

  private async wrote(): Promise<void> {
    this.rewritten++;
    this.progress.rewritten = this.rewritten;
    await this.opts.afterWrite?.();
  }

  private report(phase: RekeyPhase, done: number, total: number): void {
    this.opts.signal?.throwIfAborted();
    this.progress = { epoch: this.account.epochs.epoch, phase, done, total, rewritten: this.rewritten };
    this.opts.onProgress?.(this.current);
  }
}
