/**
 * Files delivered mail (`incoming/<ts>` blobs, see deliveryBox.ts) into the account's mailboxes.
 * Opening a delivery box needs the X25519 secret key, so a mover runs only once the account is
 * unlocked (in `start`: from the first login). It drains the queue at once, then every few seconds,
 * when poked (a `deliver` through the control socket), and when the row `incoming`/`watch` changes
 * (a delivery from another computer).
 *
 * One delivery at a time, in key (arrival) order: the record of filed deliveries is asked first (a
 * box filed before is a replay: deleted, not filed), then the blob's size (over
 * MAX_SEALED_DELIVERY_BYTES it is left in place unread), then the blob is read (bounded by the same
 * limit, whatever the size said), opened, and filed; mail that no registered sender authenticated
 * gets the keyword `$Unverified`. So the mover holds at most one delivery in memory.
 *
 * At least once, never lost: an incoming blob is deleted only after the UidIndex op that adds its
 * message is durable and the record holds it. A crash before the record is written files it twice;
 * a crash after leaves a queue entry that the record refuses; a crash before filing leaves it queued.
 * A box that does not open (tampered, or sealed to another account) is logged once and left in place.
 */
import { parseKeyRoot, unlockKeyRoot, type UnlockedKeys } from "../../crypto/keyRoot.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { AppError, NotFound } from "../../errors.ts";
import type { Log } from "../../log.ts";
import type { Store } from "../../storage/types.ts";
import type { Account } from "../account.ts";
import { Mutex } from "../mutex.ts";
import {
  INCOMING_PREFIX,
  MAX_SEALED_DELIVERY_BYTES,
  openDelivery,
  type OpenedDelivery,
} from "./deliveryBox.ts";
import { FILED_RETENTION_MS, type FiledDeliveries, filedName } from "./filedDeliveries.ts";
import { isIncomingKey, WATCH_PK, WATCH_SK } from "./incomingQueue.ts";
import { LEASE_SUBKEY, MoverLease } from "./moverLease.ts";
import { SENDERS_SUBKEY, SenderRegistry, UNVERIFIED_KEYWORD } from "./senderRegistry.ts";

export interface MoverOptions {
  log?: Log;
  /** Pause between two looks at the queue when nothing wakes the mover. */
  intervalMs?: number;
  /** Queue keys listed per storage call (deliveries are still read and filed one at a time). */
  pageSize?: number;
  /** Longest single poll of the watch row: a poll cannot be cancelled, so a stop waits up to this. */
  watchPollMs?: number;
}

/** The keys that open delivery boxes, from a password that opens the account. */
export async function unlockDeliveryKeys(store: Store, password: string): Promise<UnlockedKeys> {
  await loadSodium();
  const bytes = await store.blobs.get("keys/root");
  if (!bytes) throw new NotFound("this storage holds no account yet: run `aerogramme-local init`");
  return unlockKeyRoot(parseKeyRoot(bytes), password);
}

export class IncomingMover {
  private account: Account | undefined;
  private closed = false;
  private readonly draining = new Mutex();
  /** Queue entries left in place (unopenable, too big, older than the record): logged once. */
  private readonly leftInPlace = new Set<string>();
  private record: FiledDeliveries | undefined;
  private senders: SenderRegistry | undefined;
  private wake: (() => void) | undefined;
  private watchToken: string | undefined;
  private polling: Promise<unknown> | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly log: Log;
  private readonly intervalMs: number;
  private readonly pageSize: number;
  private readonly watchPollMs: number;
  /** Made with the keys: its row is sealed under an account subkey. */
  private lease: MoverLease | undefined;
  /** Deliveries filed since the mover started. */
  filed = 0;
  /** Replayed deliveries refused (and deleted) since the mover started. */
  refused = 0;
  /** Where the latest deliveries went (queue key to mailbox name), for `deliver`'s answer. */
  private readonly recentlyFiled = new Map<string, string>();

  constructor(
    private readonly store: Store,
    opts: MoverOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.intervalMs = opts.intervalMs ?? 5_000;
    this.pageSize = opts.pageSize ?? 100;
    this.watchPollMs = Math.min(this.intervalMs, opts.watchPollMs ?? 5_000);
  }

  /** True once the mover has its keys and is filing. */
  get running(): boolean {
    return this.account !== undefined && !this.closed;
  }

  /**
   * Starts filing into `account` (an unlocked account, whose keys open the boxes: those of its
   * current key epoch, and of earlier ones a rekey still carries). Later calls do nothing.
   */
  startWith(account: Account): Promise<void> {
    if (this.closed || this.account === account) return Promise.resolve();
    if (this.account) {
      // Only a rekey elsewhere replaces the account: the new one holds the new keys.
      if (this.account.epochs.supersededBy === undefined) return Promise.resolve();
      this.account = account;
      this.record = account.filedDeliveries();
      this.senders = new SenderRegistry(this.store.rows, account.subkey(SENDERS_SUBKEY));
      this.lease = new MoverLease(this.store.rows, account.subkey(LEASE_SUBKEY));
      this.log("info", "incoming mail mover: filing with the account's new keys");
      return Promise.resolve();
    }
    this.account = account;
    this.record = account.filedDeliveries();
    this.senders = new SenderRegistry(this.store.rows, account.subkey(SENDERS_SUBKEY));
    this.lease = new MoverLease(this.store.rows, account.subkey(LEASE_SUBKEY));
    this.log("info", "incoming mail mover started");
    this.loopDone = this.loop();
    return Promise.resolve();
  }

  /** Look at the queue now (a delivery was just stored). */
  poke(): void {
    this.wake?.();
  }

  /** Files everything queued now; returns how many deliveries were filed. */
  async moveNow(): Promise<number> {
    const { account, record, senders, lease } = this;
    if (!account || !record || !senders || !lease) return 0;
    return this.draining.run(async () => {
      if (!(await lease.take())) return 0;
      await record.refresh();
      const registered = await senders.load();
      let moved = 0;
      let startAfter: string | undefined;
      for (;;) {
        const page = await this.store.blobs.list(INCOMING_PREFIX, startAfter, this.pageSize);
        for (const blobKey of page.keys) {
          if (this.closed) break;
          if (!isIncomingKey(blobKey) || this.leftInPlace.has(blobKey)) continue;
          if (await this.fileOne(account, record, registered, blobKey)) moved++;
        }
        if (!page.nextStartAfter || this.closed) break;
        startAfter = page.nextStartAfter;
      }
      if (moved > 0) this.log("info", `filed ${moved} delivered message(s)`);
      return moved;
    });
  }

  /** Files one queue entry, or refuses it; true when it was filed. */
  private async fileOne(
    account: Account,
    record: FiledDeliveries,
    registered: Set<string>,
    blobKey: string,
  ): Promise<boolean> {
    const name = filedName(blobKey);
    const verdict = record.verdict(name);
    if (verdict === "filed") {
      this.log(
        "warn",
        `incoming ${blobKey} refused: it was filed before (put back by the storage host, or left by an interrupted run); deleted, not filed again`,
      );
      await this.store.blobs.delete(blobKey);
      this.refused += 1;
      return false;
    }
    if (verdict === "older")
      return this.leaveInPlace(
        blobKey,
        `older than the record of filed deliveries keeps (${FILED_RETENTION_MS / 86_400_000} days): a replay, or a sender whose clock was that far behind; not filed`,
      );
    const head = await this.store.blobs.head(blobKey);
    if (!head) return false; // another mover filed it meanwhile
    if (head.size > MAX_SEALED_DELIVERY_BYTES) return this.leaveInPlace(blobKey, tooBig(head.size));
    // Bounded even when the size the host gave was a lie.
    const sealed = await this.store.blobs.get(blobKey, { start: 0, end: MAX_SEALED_DELIVERY_BYTES });
    if (!sealed) return false;
    if (sealed.length > MAX_SEALED_DELIVERY_BYTES) return this.leaveInPlace(blobKey, tooBig(sealed.length));
    let delivery: OpenedDelivery;
    try {
      delivery = openDelivery(account.epochs.current, blobKey, sealed);
    } catch (err) {
      return this.leaveInPlace(blobKey, describe(err));
    }
    const verified =
      delivery.sender !== undefined && registered.has(Buffer.from(delivery.sender).toString("hex"));
    const target = await this.targetMailbox(account, delivery.mailbox);
    const mailbox = await account.mailbox(target);
    await mailbox.append(delivery.raw, verified ? [] : [UNVERIFIED_KEYWORD], delivery.internalDate);
    // Recorded before the queue entry goes: a crash in between leaves an entry the record refuses.
    await record.add(name);
    await this.store.blobs.delete(blobKey);
    this.filed += 1;
    this.remember(blobKey, target);
    if (!verified)
      this.log(
        "info",
        `incoming ${blobKey} filed with ${UNVERIFIED_KEYWORD}: ${delivery.sender ? "its sender is not registered in this account" : "anonymous (no sender key)"}`,
      );
    return true;
  }

  /** The mailbox a delivery filed by this mover went into (one of the last 1,000), if known. */
  filedInto(blobKey: string): string | undefined {
    return this.recentlyFiled.get(blobKey);
  }

  private remember(blobKey: string, mailbox: string): void {
    this.recentlyFiled.set(blobKey, mailbox);
    if (this.recentlyFiled.size > 1_000) this.recentlyFiled.delete(this.recentlyFiled.keys().next().value!);
  }

  private leaveInPlace(blobKey: string, why: string): false {
    this.leftInPlace.add(blobKey);
    this.log("warn", `incoming ${blobKey} left in place: ${why}`);
    return false;
  }

  /** The named mailbox if it exists, INBOX otherwise. */
  private async targetMailbox(account: Account, name: string): Promise<string> {
    if (name.toUpperCase() === "INBOX") return "INBOX";
    const { mailboxes } = await account.listMailboxes();
    return mailboxes.some((m) => m.name === name) ? name : "INBOX";
  }

  private async loop(): Promise<void> {
    // The same failure at every pass (a refused record stays refused) is logged once.
    let failing: string | undefined;
    while (!this.closed) {
      try {
        await this.moveNow();
        if (failing !== undefined) this.log("info", "incoming mail mover: filing again");
        failing = undefined;
      } catch (err) {
        if (describe(err) !== failing)
          this.log(
            "warn",
            `incoming mail mover: ${describe(err)}; trying again every ${this.intervalMs / 1000} s (logged once)`,
          );
        failing = describe(err);
      }
      if (this.closed) break;
      await this.nextWake();
    }
  }

  /** Resolves after the interval, at a poke, or when the watch row changes, whichever is first. */
  private nextWake(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.intervalMs);
      this.wake = done;
      // One poll in flight at a time; it outlives this wait when a poke came first.
      this.polling ??= this.store.rows
        .poll(WATCH_PK, WATCH_SK, this.watchToken, this.watchPollMs)
        .then((row) => {
          if (row) {
            this.watchToken = row.token;
            this.wake?.();
          }
        })
        // A failed poll only means no early wake-up: the timer files the queue anyway.
        .catch(() => {})
        .finally(() => (this.polling = undefined));
    });
  }

  /** Stops after the batch in hand is filed, and wipes the delivery key. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loopDone;
    await this.draining.run(async () => {});
    // An unreleased lease expires by itself in 30 s; another mover then takes over.
    await this.lease?.release().catch(() => {});
    this.account = undefined;
    this.record = undefined;
    this.senders = undefined;
  }
}

function tooBig(size: number): string {
  return `${size} bytes, over the ${MAX_SEALED_DELIVERY_BYTES} bytes a delivery may have; not read`;
}

function describe(err: unknown): string {
  return err instanceof AppError || err instanceof Error ? err.message : String(err);
}
