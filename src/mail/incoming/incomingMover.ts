/**
 * Files delivered mail (`incoming/<ts>` blobs, see deliveryBox.ts) into the account's mailboxes.
 * Opening a delivery box needs the X25519 secret key, so a mover runs only once the account is
 * unlocked (in `start`: from the first login). It drains the queue at once, then every few seconds,
 * when poked (a `deliver` through the control socket), and when the row `incoming`/`watch` changes
 * (a delivery from another computer).
 *
 * At least once, never lost: an incoming blob is deleted only after the UidIndex op that adds its
 * message is durable. A crash in between files it twice; a crash before leaves it queued.
 * A box that does not open (tampered, or sealed to another account) is logged once and left in place.
 */
import { parseKeyRoot, unlockKeyRoot, wipeKeys, type UnlockedKeys } from "../../crypto/keyRoot.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { AppError, NotFound } from "../../errors.ts";
import type { Log } from "../../log.ts";
import type { Store } from "../../storage/types.ts";
import type { Account } from "../account.ts";
import { Mutex } from "../mutex.ts";
import { INCOMING_PREFIX, openDelivery, type Delivery } from "./deliveryBox.ts";
import { isIncomingKey, WATCH_PK, WATCH_SK } from "./incomingQueue.ts";
import { MoverLease } from "./moverLease.ts";

export interface MoverOptions {
  log?: Log;
  /** Pause between two looks at the queue when nothing wakes the mover. */
  intervalMs?: number;
  /** Deliveries filed per UidIndex op (one op row per mailbox per batch). */
  batchSize?: number;
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
  private keys: UnlockedKeys | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly draining = new Mutex();
  private readonly unopenable = new Set<string>();
  private wake: (() => void) | undefined;
  private watchToken: string | undefined;
  private polling: Promise<unknown> | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly log: Log;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly watchPollMs: number;
  private readonly lease: MoverLease;
  /** Deliveries filed since the mover started. */
  filed = 0;

  constructor(
    private readonly store: Store,
    opts: MoverOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.intervalMs = opts.intervalMs ?? 5_000;
    this.batchSize = opts.batchSize ?? 100;
    this.watchPollMs = Math.min(this.intervalMs, opts.watchPollMs ?? 5_000);
    this.lease = new MoverLease(store.rows);
  }

  /** True once the mover has its keys and is filing. */
  get running(): boolean {
    return this.keys !== undefined && !this.closed;
  }

  /**
   * Starts filing into `account` (an unlocked account; `password` is one that opens it, used once
   * to unlock the delivery key). Later calls do nothing. Never throws: a failure is logged and the
   * next call tries again.
   */
  startWith(account: Account, password: string): Promise<void> {
    if (this.closed || this.keys) return Promise.resolve();
    this.starting ??= unlockDeliveryKeys(this.store, password).then(
      (keys) => {
        if (this.closed) return wipeKeys(keys);
        this.account = account;
        this.keys = keys;
        this.log("info", "incoming mail mover started");
        this.loopDone = this.loop();
      },
      (err: unknown) => {
        this.starting = undefined;
        this.log("warn", `incoming mail mover could not start: ${describe(err)}`);
      },
    );
    return this.starting;
  }

  /** Look at the queue now (a delivery was just stored). */
  poke(): void {
    this.wake?.();
  }

  /** Files everything queued now; returns how many deliveries were filed. */
  async moveNow(): Promise<number> {
    if (!this.account || !this.keys) return 0;
    const account = this.account;
    const keys = this.keys;
    return this.draining.run(async () => {
      if (!(await this.lease.take())) return 0;
      let moved = 0;
      let startAfter: string | undefined;
      for (;;) {
        const page = await this.store.blobs.list(INCOMING_PREFIX, startAfter, this.batchSize);
        const keysHere = page.keys.filter((k) => isIncomingKey(k) && !this.unopenable.has(k));
        if (keysHere.length > 0) moved += await this.fileBatch(account, keys, keysHere);
        if (!page.nextStartAfter || this.closed) break;
        startAfter = page.nextStartAfter;
      }
      this.filed += moved;
      return moved;
    });
  }

  private async fileBatch(account: Account, keys: UnlockedKeys, blobKeys: string[]): Promise<number> {
    const byMailbox = new Map<string, { blobKey: string; delivery: Delivery }[]>();
    for (const blobKey of blobKeys) {
      const sealed = await this.store.blobs.get(blobKey);
      if (!sealed) continue; // another mover filed it meanwhile
      let delivery: Delivery;
      try {
        delivery = openDelivery(keys, blobKey, sealed);
      } catch (err) {
        this.unopenable.add(blobKey);
        this.log("warn", `incoming ${blobKey} left in place: ${describe(err)}`);
        continue;
      }
      const target = await this.targetMailbox(account, delivery.mailbox);
      const group = byMailbox.get(target) ?? [];
      group.push({ blobKey, delivery });
      byMailbox.set(target, group);
    }
    let moved = 0;
    for (const [name, group] of byMailbox) {
      const mailbox = await account.mailbox(name);
      const added: { mailId: string; flags: string[] }[] = [];
      for (const { delivery } of group)
        added.push({
          mailId: (await account.messages.add(delivery.raw, delivery.internalDate)).mailId,
          flags: [],
        });
      await mailbox.addExisting(added);
      // Only now is the mail safe in its mailbox: the queue entries may go.
      for (const { blobKey } of group) await this.store.blobs.delete(blobKey);
      moved += group.length;
      this.log("info", `filed ${group.length} delivered message(s)`);
    }
    return moved;
  }

  /** The named mailbox if it exists, INBOX otherwise. */
  private async targetMailbox(account: Account, name: string): Promise<string> {
    if (name.toUpperCase() === "INBOX") return "INBOX";
    const { mailboxes } = await account.listMailboxes();
    return mailboxes.some((m) => m.name === name) ? name : "INBOX";
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      try {
        await this.moveNow();
      } catch (err) {
        this.log(
          "warn",
          `incoming mail mover: ${describe(err)}; trying again in ${this.intervalMs / 1000} s`,
        );
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
        .catch(() => {})
        .finally(() => (this.polling = undefined));
    });
  }

  /** Stops after the batch in hand is filed, and wipes the delivery key. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.starting?.catch(() => {});
    await this.loopDone;
    await this.draining.run(async () => {});
    await this.lease.release().catch(() => {});
    if (this.keys) wipeKeys(this.keys);
    this.keys = undefined;
    this.account = undefined;
  }
}

function describe(err: unknown): string {
  return err instanceof AppError || err instanceof Error ? err.message : String(err);
}
