/**
 * One mailbox: its UidIndex, kept by Bayou (sync/) at `index/<mailboxId>`, and the operations IMAP
 * needs. Every write is one batched op row ("mark 1,000 read" is one write). Sessions of this process
 * hear about changes through `onChange`; other computers' changes arrive through `sync()` and
 * `waitForChange()` (the watch row).
 */
import { EventEmitter } from "node:events";
import { Bayou, type StateMachine, type SyncWitness } from "../sync/index.ts";
import {
  applyUidOp,
  decodeUidOp,
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
    apply: (state, op) => applyUidOp(state, op),
    encodeOp: encodeUidOp,
    decodeOp: decodeUidOp,
    encodeState: encodeUidIndex,
    decodeState: decodeUidIndex,
  };
}

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
  /** Appends that arrived while a batch was being written: they form the next one. */
  private readonly appendQueue: QueuedAppend[] = [];
  private draining = false;

  constructor(
    readonly id: string,
    uidvalidity: number,
    store: Store,
    indexKey: Uint8Array,
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
  ) {
    this.events.setMaxListeners(0);
    this.bayou = new Bayou({
      store,
      key: indexKey,
      path: `index/${id}`,
      machine: uidIndexMachine(uidvalidity),
      ...(witness ? { witness } : {}),
    });
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
    const changed = await this.bayou.sync();
    if (changed) this.events.emit("change");
    return changed;
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

  private push(
    ops: UidOp[] | (() => UidOp[]),
    alongside?: () => Promise<void>,
    intents?: string[],
  ): Promise<void> {
    return this.bayou.push(ops, alongside, intents).then(() => {
      this.events.emit("change");
    });
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
      try {
        await this.push(
          () => {
            // The guess is the UIDNEXT of the state the row follows; another computer's add landing
            // first makes it wrong, which the replay settles (uidIndex.ts).
            const next = this.index.uidnext;
            return items.map((it, i) => ({ t: "add", id: it.mailId, guessUid: next + i, flags: it.flags }));
          },
          pieces,
          pieces ? items.map((it) => it.mailId) : undefined,
        );
      } catch (err) {
        if (pieces) await this.withdraw(items.map((it) => it.mailId));
        throw err;
      }
      return items.map((it) => ({
        mailId: it.mailId,
        uid: this.index.byId.get(it.mailId)?.uid ?? 0,
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

  setFlags(mailIds: string[], mode: FlagMode, flags: string[]): Promise<void> {
    if (mailIds.length === 0) return Promise.resolve();
    return this.writes.run(() => this.push([{ t: "flags", ids: mailIds, mode, flags }]));
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
      await this.deleteContent([...this.index.byId.keys()]);
      await this.bayou.destroy();
    });
  }

  /** Resolves once every write so far has been signalled to other computers (the watch row). */
  async settle(): Promise<void> {
    while (this.draining) await this.writes.run(() => Promise.resolve());
    await this.bayou.settle();
  }

  close(): void {
    this.bayou.close();
    this.events.removeAllListeners();
  }
}
