/**
 * One mailbox: its UidIndex, kept by Bayou (sync/) at `index/<mailboxId>`, and the operations IMAP
 * needs. Every write is one batched op row ("mark 1,000 read" is one write). Sessions of this process
 * hear about changes through `onChange`; other computers' changes arrive through `sync()` and
 * `waitForChange()` (the watch row).
 */
import { EventEmitter } from "node:events";
import { Bayou, type SnapshotKeeper, type StateMachine, type SyncWitness } from "../sync/index.ts";
import type { SealKey } from "../crypto/aead.ts";
import {
  applyUidOp,
  changeFlags,
  decodeUidOp,
  lateChanges,
  emptyUidIndex,
  encodeUidOp,
  type FlagMode,
  type MailEntry,
  type UidIndex,
  type UidOp,
} from "./uidIndex.ts";
import { decodeUidIndex, encodeUidIndex } from "./uidIndexCodec.ts";
import { NotFound } from "../errors.ts";
import { eachBounded, PIECES_PARALLEL, type MessageStore, type PreparedMessage } from "./messageStore.ts";
import { Mutex } from "./mutex.ts";
import { MessageReads, type ReadOptions } from "./read/index.ts";
import type { Store } from "../storage/types.ts";

/** The UidIndex as Bayou keeps it (exported for tools that write a mailbox's checkpoint). */
export function uidIndexMachine(uidvalidity: number): StateMachine<UidIndex, UidOp> {
  return {
    empty: () => emptyUidIndex(uidvalidity),
    apply: (state, op, at) => applyUidOp(state, op, at),
    encodeOp: encodeUidOp,
    decodeOp: decodeUidOp,
    encodeState: encodeUidIndex,
    decodeState: decodeUidIndex,
  };
}

/** Touch and renumber pushes in a row before waiting for the next sync (Mailbox.settle). */
const SETTLE_ROUNDS = 3;

export interface AppendResult {
  uid: number;
  uidvalidity: number;
  mailId: string;
}

/** Appends waiting to go out together (group commit): at most this many, or this many bytes. */
const APPEND_BATCH = 100;
const APPEND_BATCH_BYTES = 32 * 1024 * 1024;

interface QueuedAppend {
  prepared: PreparedMessage;
  flags: string[];
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

export class Mailbox {
  private readonly bayou: Bayou<UidIndex, UidOp>;
  private readonly writes = new Mutex();
  private readonly events = new EventEmitter();
  /** The state at the end of the last sync: what sessions may have been shown (lateChanges). */
  private seen: UidIndex;
  /**
   * RFC 3501 §2.3.2 \Recent, for this process: no session of this server was told of a UID above
   * this one. Set at the first sync (messages already there when the server opens the mailbox are
   * not recent: after a restart a whole mailbox would otherwise turn recent at once).
   */
  private recentFloor: number | undefined;
  /** Appends that arrived while a batch was being written: they form the next one. */
  private readonly appendQueue: QueuedAppend[] = [];
  private draining = false;

  constructor(
    readonly id: string,
    uidvalidity: number,
    store: Store,
    indexKey: SealKey,
    private readonly messages: MessageStore,
    /**
     * Which of these message ids another mailbox still holds. A MOVE adds the id to its target
     * before it leaves the source, so a crash in between leaves one id in two mailboxes; deleting
     * its content then would break the other. The account knows every mailbox; alone, none.
     */
    private readonly heldElsewhere: (mailIds: string[], except: string) => Promise<Set<string>> = () =>
      Promise.resolve(new Set()),
    /** What this computer saw of the index before: a read that went back is refused (DESIGN.md §6). */
    witness?: SyncWitness,
    /** This computer's snapshots of the index between runs (a faster first SELECT). */
    snapshots?: SnapshotKeeper,
  ) {
    this.events.setMaxListeners(0);
    this.bayou = new Bayou({
      store,
      key: indexKey,
      path: `index/${id}`,
      machine: uidIndexMachine(uidvalidity),
      // A client's SELECT gets the index before any checkpoint is written (issue 11).
      checkpointAfterSync: true,
      ...(witness ? { witness } : {}),
      ...(snapshots ? { snapshots } : {}),
    });
    this.seen = this.bayou.state;
  }

  /** Re-seals the index's op rows and checkpoints not sealed under the current key epoch (Bayou.reseal). */
  reseal(isCurrent: (sealed: Uint8Array) => boolean): Promise<number> {
    return this.bayou.reseal(isCurrent);
  }

  get index(): UidIndex {
    return this.bayou.state;
  }

  /**
   * Reads these messages (entries of this mailbox's index, as the caller holds them) in batches,
   * as far as `scope` asks: "index", "meta" or "body" (read/messageReads.ts).
   */
  read<E extends MailEntry | undefined>(entries: readonly E[], options: ReadOptions): MessageReads<E> {
    return new MessageReads(this.messages, () => this.index, entries, options);
  }

  /** Pulls other computers' ops; tells local listeners when something changed. */
  async sync(): Promise<boolean> {
    // A client's SELECT, NOOP or IDLE: background work (the cache fill) waits for it too.
    let changed = await this.messages.activity.track(this.bayou.sync());
    if (this.index !== this.seen || this.index.unplaced.size > 0) {
      changed = (await this.writes.run(() => this.settle())) || changed;
    }
    this.recentFloor ??= this.index.uidnext - 1;
    if (changed) this.events.emit("change");
    return changed;
  }

  /**
   * After a sync or a push, before sessions look: if the state was rebuilt (a late op arrived, or a
   * checkpoint moved one), gives what changed below a MODSEQ sessions were shown a new one (a touch
   * op: uidIndex.ts lateChanges); then renumbers what clashed. Called with `writes` held. A failed
   * push is left for the next settle: the ops it answers are durable already, so the write that
   * called this must not fail for it. Whether it pushed.
   */
  private async settle(): Promise<boolean> {
    let pushed = false;
    // Each push may rebuild again (its checkpoint moves a late op): a few rounds, each against what
    // sessions were shown last, which a rebuild leaves as it was.
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      const late = this.index === this.seen ? undefined : lateChanges(this.seen, this.index);
      const touch = late && late.ids.length + late.uids.length > 0;
      if (!touch && this.index.unplaced.size === 0) break;
      try {
        if (touch) await this.bayou.push([{ t: "touch", ...late }]);
        if (this.index.unplaced.size > 0) await this.placeUnplaced();
      } catch {
        return pushed; // `seen` stays: the next settle compares with it again
      }
      pushed = true;
    }
    this.seen = this.index;
    return pushed;
  }

  /**
   * Gives messages whose UID clashed (uidIndex.ts: unplaced) fresh UIDs, by pushing renumber ops
   * that claim this computer's UIDNEXT onwards. Every computer that sees them does so; should two
   * do it at once, the replay keeps each message's highest claim. Called with `writes` held.
   */
  private async placeUnplaced(): Promise<void> {
    const next = this.index.uidnext;
    // Oldest claim first, so the messages keep their order; the same order on every computer.
    const waiting = [...this.index.unplaced.values()].sort((a, b) => a.uid - b.uid || (a.id < b.id ? -1 : 1));
    await this.bayou.push(waiting.map((e, i) => ({ t: "renumber", id: e.id, uid: next + i })));
  }

  /**
   * The UIDs present that no session of this process has been told of as \Recent. With `claim`
   * they become the caller's: the next caller does not get them (RFC 3501 §2.3.2, one session).
   */
  unclaimedRecent(claim: boolean): number[] {
    const floor = this.recentFloor ?? this.index.uidnext - 1;
    const uids = this.index.uids;
    let i = uids.length;
    while (i > 0 && uids[i - 1]! > floor) i--;
    const found = uids.slice(i);
    if (claim) this.recentFloor = Math.max(floor, this.index.uidnext - 1);
    return found;
  }

  onChange(listener: () => void): () => void {
    this.events.on("change", listener);
    return () => this.events.off("change", listener);
  }

  /** Resolves true when another computer (or process) changed the mailbox, false at timeout. */
  async waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const changed = await this.bayou.waitForChange(timeoutMs, signal);
    return changed ? this.sync() : false;
  }

  /** Called with `writes` held. */
  private async push(
    ops: UidOp[] | (() => UidOp[]),
    alongside?: () => Promise<void>,
    intents?: string[],
  ): Promise<void> {
    await this.bayou.push(ops, alongside, intents);
    await this.settle();
    this.events.emit("change");
  }

  /**
   * Stores a message and adds it here: one round trip to storage (body, meta and op row at once,
   * Bayou rule 3). Appends that arrive while one is being written go out together in the next op
   * row, their meta rows in one batched write, their bodies a few at a time.
   */
  append(raw: Uint8Array, flags: string[], internalDate: number): Promise<AppendResult> {
    const prepared = this.messages.prepare(raw, internalDate);
    return new Promise<AppendResult>((resolve, reject) => {
      this.appendQueue.push({ prepared, flags, resolve, reject });
      if (!this.draining) void this.drainAppends();
    });
  }

  private async drainAppends(): Promise<void> {
    this.draining = true;
    try {
      while (this.appendQueue.length > 0) {
        let bytes = 0;
        let n = 0;
        while (n < this.appendQueue.length && n < APPEND_BATCH && (n === 0 || bytes < APPEND_BATCH_BYTES)) {
          bytes += this.appendQueue[n]!.prepared.sealedBody.length;
          n += 1;
        }
        const batch = this.appendQueue.splice(0, n);
        try {
          const results = await this.addWith(
            batch.map((q) => ({ mailId: q.prepared.mailId, flags: q.flags })),
            () => this.messages.writeMany(batch.map((q) => q.prepared)),
          );
          batch.forEach((q, i) => q.resolve(results[i]!));
        } catch (err) {
          for (const q of batch) q.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Takes back an acknowledged append (its caller could not keep it: a name that moved meanwhile). */
  async withdrawAppend(mailId: string): Promise<void> {
    await this.writes.run(() => this.push([{ t: "expunge", ids: [mailId] }]));
    await this.deleteContent([mailId]);
  }

  /** Adds stored messages (the target side of MOVE, an import) in one op row. */
  addExisting(items: { mailId: string; flags: string[] }[]): Promise<AppendResult[]> {
    return this.addWith(items);
  }

  /**
   * Adds messages in one op row, written at the same time as `pieces` (their bodies and meta, when
   * not stored yet). Should the pieces fail, or the row, the adds are withdrawn: nothing may name
   * a message whose pieces are missing.
   */
  private addWith(
    items: { mailId: string; flags: string[] }[],
    pieces?: () => Promise<void>,
  ): Promise<AppendResult[]> {
    return this.writes.run(async () => {
      let next = 0;
      try {
        await this.push(
          () => {
            // The guess is the UIDNEXT of the state the row follows; another computer's add landing
            // first makes it wrong, which the replay settles (uidIndex.ts).
            next = this.index.uidnext;
            return items.map((it, i) => ({ t: "add", id: it.mailId, guessUid: next + i, flags: it.flags }));
          },
          pieces,
          pieces ? items.map((it) => it.mailId) : undefined,
        );
      } catch (err) {
        if (pieces) await this.withdraw(items.map((it) => it.mailId));
        throw err;
      }
      // APPENDUID and COPYUID report the UID this computer claimed, even if a clash seen since
      // (settle) already renumbered the message: the client learns that as an expunge (uidIndex.ts).
      return items.map((it, i) => ({
        mailId: it.mailId,
        uid: next + i,
        uidvalidity: this.index.uidvalidity,
      }));
    });
  }

  /**
   * After a failed add: an expunge row for the ids (the add row may have landed though the call
   * failed), then their pieces, only once that expunge is stored. Best effort: storage may be down.
   */
  private async withdraw(mailIds: string[]): Promise<void> {
    try {
      await this.push([{ t: "expunge", ids: mailIds }]);
      await this.deleteContent(mailIds);
      this.bayou.resolved(mailIds);
    } catch {
      // Left for the next start (the mark still names the ids: recoverInterrupted).
    }
  }

  /**
   * At open, after the first sync: messages whose add was cut short in an earlier run (a crash
   * between the intent and the acknowledgement, Bayou rule 3) are withdrawn unless their meta and
   * body are both stored, and the pieces of adds whose row never landed are deleted. A client never
   * sees a message without its content for longer than it takes this computer to start again.
   */
  async recoverInterrupted(): Promise<number> {
    const ids = this.bayou.interrupted();
    if (ids.length === 0) return 0;
    const listed = ids.filter((id) => this.index.byId.has(id));
    const whole = await this.messages.whole(listed);
    const broken = listed.filter((id) => !whole.has(id));
    if (broken.length > 0) await this.writes.run(() => this.push([{ t: "expunge", ids: broken }]));
    await this.deleteContent([
      ...broken,
      ...ids.filter((id) => !this.index.byId.has(id) && !broken.includes(id)),
    ]);
    this.bayou.resolved(ids);
    return broken.length;
  }

  /**
   * Changes flags; the op names only the messages whose flags this changes as this computer sees
   * them, since the replay gives every message an op names a new MODSEQ (uidIndex.ts).
   */
  setFlags(mailIds: string[], mode: FlagMode, flags: string[]): Promise<void> {
    return this.writes.run(async () => {
      const changing = mailIds.filter((id) => {
        const entry = this.index.byId.get(id) ?? this.index.unplaced.get(id);
        if (!entry) return true; // not here as far as this computer knows: the replay decides
        const next = changeFlags(entry.flags, mode, flags);
        return next.length !== entry.flags.length || next.some((f, i) => f !== entry.flags[i]);
      });
      if (changing.length > 0) await this.push([{ t: "flags", ids: changing, mode, flags }]);
    });
  }

  /** Removes messages from this mailbox; their content is deleted unless `keepContent` (MOVE). */
  async expunge(mailIds: string[], keepContent = false): Promise<void> {
    if (mailIds.length === 0) return;
    await this.writes.run(() => this.push([{ t: "expunge", ids: mailIds }]));
    // After the op is durable: a crash here leaves unreferenced blobs (space), never lost mail.
    if (!keepContent) await this.deleteContent(mailIds);
  }

  /**
   * COPY: new ids for the same content, added to `target`: the meta in one batched read, then the
   * blob copies and new meta rows (a few at a time) and the target's op row at once. Returns
   * [source uid, target uid] pairs.
   */
  async copyTo(target: Mailbox, mailIds: string[]): Promise<[number, number][]> {
    const entries = mailIds
      .map((id) => this.index.byId.get(id))
      .filter((e): e is NonNullable<typeof e> => e !== undefined);
    const metas = await this.messages.getMeta(entries.map((e) => e.id));
    const copies = entries.map((entry) => {
      const meta = metas.get(entry.id);
      if (!meta) throw new NotFound(`message ${entry.id} has no meta in storage`);
      return { ...this.messages.prepareCopy(meta), flags: entry.flags, srcUid: entry.uid };
    });
    const added = await target.addWith(
      copies.map((c) => ({ mailId: c.mailId, flags: c.flags })),
      () => eachBounded(copies, PIECES_PARALLEL, (c) => c.write()),
    );
    return added.map((a, i) => [copies[i]!.srcUid, a.uid]);
  }

  /** MOVE (RFC 6851): the same ids go to `target` first, then leave here; no blob is touched. */
  async moveTo(target: Mailbox, mailIds: string[]): Promise<[number, number][]> {
    if (target === this) {
      // RFC 6851 §3.3: moved into its own mailbox, a message gets a new UID. An id sits in an index
      // once, so the content is copied under new ids, then the old ones leave (and their content):
      // a crash in between leaves a duplicate, never a loss.
      const pairs = await this.copyTo(this, mailIds);
      await this.expunge(mailIds);
      return pairs;
    }
    const moving = mailIds
      .map((id) => this.index.byId.get(id))
      .filter((e): e is NonNullable<typeof e> => e !== undefined);
    const added = await target.addExisting(moving.map((e) => ({ mailId: e.id, flags: e.flags })));
    await this.expunge(
      moving.map((e) => e.id),
      true,
    );
    return added.map((a, i) => [moving[i]!.uid, a.uid]);
  }

  /** Deletes the bodies and meta of messages no other mailbox holds. */
  private async deleteContent(mailIds: string[]): Promise<void> {
    if (mailIds.length === 0) return;
    const kept = await this.heldElsewhere(mailIds, this.id);
    await this.messages.delete(mailIds.filter((id) => !kept.has(id)));
  }

  /** Deletes every message and the whole op log (mailbox deletion). */
  async destroy(): Promise<void> {
    await this.writes.run(async () => {
      await this.bayou.sync();
      await this.deleteContent([...this.index.byId.keys(), ...this.index.unplaced.keys()]);
      await this.bayou.destroy();
    });
  }

  /** Saves this computer's snapshot of the index if it moved since the last one (before close). */
  flushSnapshot(): Promise<void> {
    return this.bayou.flushSnapshot();
  }

  /** Resolves once every write so far has been signalled to other computers (the watch row). */
  async flushSignals(): Promise<void> {
    while (this.draining) await this.writes.run(() => Promise.resolve());
    await this.bayou.settle();
  }

  close(): void {
    this.bayou.close();
    this.events.removeAllListeners();
  }
}
