/**
 * One mailbox: its UidIndex, kept by Bayou (sync/) at `index/<mailboxId>`, and the operations IMAP
 * needs. Every write is one batched op row ("mark 1,000 read" is one write). Sessions of this process
 * hear about changes through `onChange`; other computers' changes arrive through `sync()` and
 * `waitForChange()` (the watch row).
 */
import { EventEmitter } from "node:events";
import {
  Bayou,
  type FirstReads,
  type SnapshotKeeper,
  type StateMachine,
  type SyncWitness,
} from "../sync/index.ts";
import type { SealKey } from "../crypto/aead.ts";
import {
  applyUidOp,
  changeFlags,
  decodeUidOp,
  lateChanges,
  emptyUidIndex,
  placementOps,
  encodeUidOp,
  type FlagMode,
  type MailEntry,
  type UidIndex,
  type UidOp,
} from "./uidIndex.ts";
import { decodeUidIndex, encodeUidIndex } from "./uidIndexCodec.ts";
import { NotFound } from "../errors.ts";
import {
  eachBounded,
  PIECES_PARALLEL,
  type MessageStore,
  type PreparedMessage,
  type SealedBody,
} from "./messageStore.ts";
import { Mutex } from "./mutex.ts";
import { newMailId } from "./ids.ts";
import { MessageReads, type ReadOptions } from "./read/index.ts";
import type { RowWrite, Store } from "../storage/types.ts";

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

/** Where a mailbox's index lives in storage (its Bayou path): rows, watch and checkpoints. */
export function mailboxIndexPath(id: string): string {
  return `index/${id}`;
}

/** Touch and renumber pushes in a row before waiting for the next sync (Mailbox.settle). */
const SETTLE_ROUNDS = 3;

export interface AppendResult {
  uid: number;
  uidvalidity: number;
  mailId: string;
}

/**
 * Writes waiting to go out together (group commit): at most this many messages added, or this
 * many bytes of bodies, in one op row; flag changes and expunges ride along.
 */
const WRITE_BATCH_ADDS = 100;
/**
 * Bodies put before their batch (Mailbox.append) in flight at once, at most. One is what a client
 * filing messages one after another needs; a pipelined burst puts the rest in its batch, 16 at a
 * time (PIECES_PARALLEL): unbounded, a burst opened a connection per journaled id (~32 more).
 */
const EARLY_PUTS = 4;
const WRITE_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * What the writes of one batch before this one changed, as the batch is built: a flag change must
 * be judged against the flags the earlier writes of its own row leave, not the state before it.
 */
interface BatchView {
  flags: Map<string, string[]>;
  /** Messages added by the batch so far: the next add's UID guess is UIDNEXT + this. */
  adds: number;
}

/** One write waiting in the queue: its ops are built when its batch is, on the state it follows. */
interface QueuedWrite {
  build: (view: BatchView) => UidOp[];
  /** Messages it adds (for the batch's size). */
  adds: number;
  bytes: number;
  /** What the ops name that is not stored yet (bodies, meta), written beside the row. */
  pieces?: () => Promise<void>;
  /** An APPEND's message: the batch's are written together (one batched meta write). */
  prepared?: PreparedMessage;
  /** Its body's PUT, begun before the batch when its id was journaled (Mailbox.append). */
  bodyStored?: Promise<void>;
  /** The ids `pieces` stores (Bayou's intents: a crash before they land withdraws them). */
  intents: string[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Some writes' pieces failed; their row is stored and applied (Bayou.push). */
class PiecesFailed extends Error {}

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
  /** Writes that arrived while a batch was being written: they form the next one. */
  private readonly writeQueue: QueuedWrite[] = [];
  private draining = false;
  /** Bodies put before their batch, in flight now (putEarly, EARLY_PUTS). */
  private earlyPuts = 0;
  /** Content deletions after expunges, one after another (expunge's `contentLater`). */
  private deletions: Promise<void> = Promise.resolve();

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
    /** Its first sync's reads, started before the mailbox was opened (Account: at LOGIN). */
    firstReads?: FirstReads,
  ) {
    this.events.setMaxListeners(0);
    this.bayou = new Bayou({
      store,
      key: indexKey,
      path: mailboxIndexPath(id),
      machine: uidIndexMachine(uidvalidity),
      // A client's SELECT gets the index before any checkpoint is written (issue 11).
      checkpointAfterSync: true,
      // Message ids pending in the mark before use: an APPEND's row goes beside its pieces.
      newIntentId: newMailId,
      ...(witness ? { witness } : {}),
      ...(snapshots ? { snapshots } : {}),
      ...(firstReads ? { firstReads } : {}),
      // The snapshot's encode waits for a lull in client work (the first SELECT's answer first).
      idle: (quietMs, enough) => messages.activity.lull(undefined, quietMs, enough),
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

  /**
   * A client listed the messages from UID `first` to `last` (a header list): what it read may now
   * be shared through the bucket (sharedListView.ts). Not awaited by the caller; never rejects.
   */
  listed(first: number, last: number): void {
    void this.messages.sharedList?.listed(this, first, last);
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
   * that claim from the aligned UID at or above this computer's UIDNEXT (uidIndex.ts
   * placementOps). Every computer that sees them does so; should two do it at once, they mostly
   * claim alike, and otherwise the replay keeps each message's highest claim. Called with `writes`
   * held.
   */
  private async placeUnplaced(): Promise<void> {
    await this.bayou.push(placementOps(this.index));
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
    rowsBeside?: RowWrite[],
  ): Promise<void> {
    await this.bayou.push(ops, alongside, intents, rowsBeside);
    await this.settle();
    this.events.emit("change");
  }

  /**
   * Stores a message and adds it here: one round trip to storage (body, meta and op row at once,
   * Bayou rule 3). Writes that arrive while one is being written go out together (enqueue).
   */
  async append(raw: Uint8Array, flags: string[], internalDate: number): Promise<AppendResult> {
    const journaledId = this.bayou.takeIntentId();
    const sealed = this.messages.sealBody(raw, journaledId);
    // A journaled id is pending in a durable mark already (Bayou rule 3): a kill from now on
    // leaves its body for the next start to delete, so the PUT, the slowest piece, goes now,
    // before the MIME index and the meta are built, and the batch and its meta sealed.
    // A body in a row goes in the batch itself (one request for all: MessageStore.rowsOf).
    const bodyStored =
      journaledId === undefined || sealed.inRow || this.earlyPuts >= EARLY_PUTS
        ? undefined
        : this.putEarly(sealed);
    let prepared: PreparedMessage;
    try {
      prepared = this.messages.withMeta(sealed, internalDate);
    } catch (err) {
      // Refused by the MIME index (TooBig: header blocks past its limit) after the body left: it
      // is deleted once it lands (a kill before that leaves it to the next start, its id pending).
      if (bodyStored) void bodyStored.then(() => this.messages.deleteBody(sealed)).catch(() => undefined);
      throw err;
    }
    const [result] = await this.addWith([{ mailId: prepared.mailId, flags }], { prepared, bodyStored });
    return result!;
  }

  /** An APPEND's body PUT begun before its batch (append), counted against EARLY_PUTS. */
  private putEarly(sealed: SealedBody): Promise<void> {
    this.earlyPuts++;
    const put = this.messages.putBodies([sealed]).finally(() => this.earlyPuts--);
    put.catch(() => undefined); // settled in its batch; not unhandled meanwhile
    return put;
  }

  /**
   * Queues a write; resolves once its ops are durable and applied. Writes queued while a batch is
   * being written (several sessions' APPEND, STORE and EXPUNGE on this mailbox) go out together as
   * the next batch: one op row, one round trip, one fsync of it on the embedded store (issue 18).
   */
  private enqueue(write: Omit<QueuedWrite, "resolve" | "reject">): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.writeQueue.push({ ...write, resolve, reject });
      if (!this.draining) void this.drainWrites();
    });
  }

  private async drainWrites(): Promise<void> {
    this.draining = true;
    try {
      while (this.writeQueue.length > 0) {
        let adds = 0;
        let bytes = 0;
        let n = 0;
        while (n < this.writeQueue.length) {
          const next = this.writeQueue[n]!;
          if (n > 0 && (adds + next.adds > WRITE_BATCH_ADDS || bytes + next.bytes > WRITE_BATCH_BYTES)) break;
          adds += next.adds;
          bytes += next.bytes;
          n += 1;
        }
        const batch = this.writeQueue.splice(0, n);
        await this.writes.run(() => this.pushBatch(batch));
      }
    } finally {
      this.draining = false;
    }
  }

  /** One batch as one push; settles every write in it. Called with `writes` held. */
  private async pushBatch(batch: QueuedWrite[]): Promise<void> {
    const failed = new Map<QueuedWrite, unknown>();
    const withPieces = batch.filter((w) => w.pieces || w.prepared);
    const appends = batch.filter((w) => w.prepared);
    const prepared = appends.map((w) => w.prepared!);
    // Bodies whose PUT began early (append), and the rest, which this batch puts.
    const early: Promise<void>[] = [];
    const earlyPut = new Set<PreparedMessage>();
    for (const w of appends)
      if (w.bodyStored) {
        early.push(w.bodyStored);
        earlyPut.add(w.prepared!);
      }
    const late = prepared.filter((p) => !earlyPut.has(p));
    // APPENDs whose ids are journaled (Bayou.takeIntentId) send their meta rows in the op row's
    // own InsertBatch: two requests per APPEND (body, rows) instead of three, and one when the
    // body goes in a row too.
    const metaWithRow =
      appends.length === withPieces.length && this.bayou.journaledAll(prepared.map((p) => p.mailId));
    const alongside =
      withPieces.length === 0
        ? undefined
        : async () => {
            const fail = (ws: QueuedWrite[]) => (err: unknown) => ws.forEach((w) => failed.set(w, err));
            await Promise.all([
              appends.length > 0 &&
                Promise.all([
                  ...early,
                  // A batch whose meta cannot ride in the row (some of its ids not journaled: a
                  // pipelined burst outruns the reserve) writes the meta rows here, and only the
                  // bodies not begun early.
                  metaWithRow ? this.messages.putBodies(late) : this.messages.writeMany(prepared, earlyPut),
                ]).catch(fail(appends)),
              ...batch.filter((w) => w.pieces).map((w) => w.pieces!().catch(fail([w]))),
            ]);
            if (failed.size > 0) throw new PiecesFailed("some pieces of a batch were not stored");
          };
    try {
      await this.push(
        () => {
          const view: BatchView = { flags: new Map(), adds: 0 };
          return batch.flatMap((w) => w.build(view));
        },
        alongside,
        withPieces.flatMap((w) => w.intents),
        metaWithRow ? this.messages.rowsOf(prepared) : [],
      );
      if (metaWithRow) this.messages.written(prepared);
    } catch (err) {
      if (!(err instanceof PiecesFailed)) {
        // The row may or may not have landed: nothing may name a message whose pieces are missing.
        // A body begun early lands before its deletion, not after it.
        await Promise.allSettled(early);
        await this.withdraw(withPieces.flatMap((w) => w.intents));
        for (const w of batch) w.reject(err);
        return;
      }
      // The row is stored and applied: the writes whose pieces failed are withdrawn, the rest stand.
      this.events.emit("change");
      await this.withdraw([...failed.keys()].flatMap((w) => w.intents));
      this.bayou.resolved(withPieces.filter((w) => !failed.has(w)).flatMap((w) => w.intents));
    }
    for (const w of batch) {
      if (failed.has(w)) w.reject(failed.get(w));
      else w.resolve();
    }
  }

  /**
   * Stores several messages and adds them here all at once (RFC 3502 MULTIAPPEND): one op row names
   * them all, written with their bodies and meta rows, so another computer sees all or none; should
   * a piece fail, the row is withdrawn (addWith) and the caller is told.
   */
  appendAll(messages: { raw: Uint8Array; flags: string[]; internalDate: number }[]): Promise<AppendResult[]> {
    const prepared = messages.map((m) => this.messages.prepare(m.raw, m.internalDate));
    return this.addWith(
      prepared.map((p, i) => ({ mailId: p.mailId, flags: messages[i]!.flags })),
      { pieces: () => this.messages.writeMany(prepared) },
    );
  }

  /** Takes back acknowledged appends (their caller could not keep them: a name that moved meanwhile). */
  async withdrawAppend(mailIds: string[]): Promise<void> {
    await this.enqueue({ build: () => [{ t: "expunge", ids: mailIds }], adds: 0, bytes: 0, intents: [] });
    await this.deleteContent(mailIds);
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
  private async addWith(
    items: { mailId: string; flags: string[] }[],
    stored?: { pieces: () => Promise<void> } | { prepared: PreparedMessage; bodyStored?: Promise<void> },
  ): Promise<AppendResult[]> {
    let next = 0;
    await this.enqueue({
      build: (view) => {
        // The guess is the UIDNEXT of the state the row follows, past the batch's earlier adds;
        // another computer's add landing first makes it wrong, which the replay settles (uidIndex.ts).
        next = this.index.uidnext + view.adds;
        view.adds += items.length;
        return items.map((it, i) => ({ t: "add", id: it.mailId, guessUid: next + i, flags: it.flags }));
      },
      adds: items.length,
      bytes: stored && "prepared" in stored ? stored.prepared.sealedBody.length : 0,
      ...stored,
      intents: stored ? items.map((it) => it.mailId) : [],
    });
    // APPENDUID and COPYUID report the UID this computer claimed, even if a clash seen since
    // (settle) already renumbered the message: the client learns that as an expunge (uidIndex.ts).
    return items.map((it, i) => ({
      mailId: it.mailId,
      uid: next + i,
      uidvalidity: this.index.uidvalidity,
    }));
  }

  /**
   * After a failed add: an expunge row for the ids (the add row may have landed though the call
   * failed), then their pieces, only once that expunge is stored. Best effort: storage may be down.
   */
  private async withdraw(mailIds: string[]): Promise<void> {
    if (mailIds.length === 0) return;
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
    // Not deleteContent: a pending id is one this computer made for this push (an APPEND's, a
    // COPY's new id; a MOVE names none), so no other mailbox holds it, and heldElsewhere would
    // open the other mailboxes, whose own recovery would wait for this one's opening: two
    // mailboxes with pending ids after a kill (every mailbox with a lot of ids, Bayou.takeIntentId)
    // then waited for each other for ever.
    await this.messages.delete([
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
    return this.enqueue({
      build: (view) => {
        const changing = mailIds.filter((id) => {
          const had = view.flags.get(id) ?? (this.index.byId.get(id) ?? this.index.unplaced.get(id))?.flags;
          if (!had) return true; // not here as far as this computer knows: the replay decides
          const next = changeFlags(had, mode, flags);
          view.flags.set(id, next);
          return next.length !== had.length || next.some((f, i) => f !== had[i]);
        });
        return changing.length > 0 ? [{ t: "flags", ids: changing, mode, flags }] : [];
      },
      adds: 0,
      bytes: 0,
      intents: [],
    });
  }

  /**
   * Removes messages from this mailbox; their content is deleted unless `keepContent` (MOVE),
   * before this resolves or, with `contentLater` (an IMAP EXPUNGE), after: the client's answer
   * waits only for the op row (issue 18: the deletions doubled EXPUNGE's time under load).
   */
  async expunge(
    mailIds: string[],
    opts: { keepContent?: boolean; contentLater?: boolean } = {},
  ): Promise<void> {
    if (mailIds.length === 0) return;
    const shared = this.messages.sharedList;
    const index = this.index;
    const uids = shared
      ? mailIds.map((id) => index.uids[index.shown.indexOfId(id)]).filter((u) => u !== undefined)
      : [];
    await this.enqueue({ build: () => [{ t: "expunge", ids: mailIds }], adds: 0, bytes: 0, intents: [] });
    // Best effort and not awaited, as the content's deletion with `contentLater`.
    if (shared) void shared.expunged(this, uids);
    // After the op is durable: a crash here leaves unreferenced blobs (space), never lost mail.
    if (opts.keepContent) return;
    const deleting = this.deletions.then(() => this.deleteContent(mailIds));
    this.deletions = deleting.catch(() => undefined); // best effort, as a crash here would be
    if (!opts.contentLater) await deleting;
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
      { pieces: () => eachBounded(copies, PIECES_PARALLEL, (c) => c.write()) },
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
      { keepContent: true },
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
      await this.messages.sharedList?.dropMailbox(this.id);
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
    await this.deletions;
    await this.bayou.settle();
  }

  close(): void {
    this.bayou.close();
    this.events.removeAllListeners();
  }
}
