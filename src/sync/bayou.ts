/**
 * Bayou: a state replicated through an op log and checkpoints in storage (DESIGN.md §6).
 *
 * Storage: op batches in rows pk=`path`, sk=<ts>; the row sk="watch", rewritten after each push, is
 * what other computers poll; checkpoints are blobs `<path>/checkpoint/<upTo>-<gen><random>`
 * (checkpoint.ts).
 *
 * The rules, each there for a reason:
 *
 * 1. The state is a pure function of what storage holds: the newest checkpoint C (greatest key),
 *    then every op row still in storage that C did not fold (C.folded), in ts order. Rows with ts
 *    <= C.upTo that C did not fold are late ops (written late by a computer whose clock was behind
 *    or whose write was slow); they are applied right after C, so none is lost, and every computer
 *    applies them at the same place, so all converge.
 *
 * 2. A sync reads the `watch` row first and stops there when it has not moved since the last sync
 *    (nothing was pushed and no checkpoint written: both rewrite it). Otherwise it reads every op
 *    row (rule 5 keeps them few), THEN the newest checkpoint. In that order a row missing from the
 *    listing was deleted, which rule 5 allows only once the newest checkpoint holds it, so the
 *    state never loses an op even for a moment. When a new row sorts before the last one applied,
 *    or the checkpoint changed, the state is rebuilt from the checkpoint; otherwise new rows are
 *    applied on top. A first sync may fetch a checkpoint before the rows (beside the watch), but
 *    adopts it only if the listing made after the rows names it.
 *
 * 3. A push takes a ts greater than every row and checkpoint it has seen and writes the row, and
 *    with it, at the same time, whatever the ops name (a message's body and meta: `alongside`). It
 *    is acknowledged when all of them are durable, then applied. The watch row is rewritten after
 *    that, in the background (one rewrite for as many pushes as land meanwhile, at most one every
 *    PUBLISH_INTERVAL_MS): it must not change before the row is in storage, or a reader woken by
 *    it could miss the row and then wait on an unchanged watch. Until that rewrite is done the
 *    mark says so (`unpublished`, durable before the acknowledgement), so a computer killed in
 *    between rewrites the watch at its next start. A push whose ops name pieces written alongside
 *    also names them in the mark (`pending`, the caller's ids) and drops them once all is stored;
 *    its row goes out once that mark is durable OR the pieces are stored, whichever comes first,
 *    so a row in storage never names a piece that is neither stored nor pending in the mark: a
 *    computer killed mid-push finds them at its next start (`interrupted`) and its caller checks
 *    the pieces. With `newIntentId`, ids are made pending ahead of use, a few at a time in one
 *    mark write (`takeIntentId`): a push that names only such ids sends its row at once, beside
 *    its pieces, and waits for no mark (one round trip); unused ones are dropped at `settle`.
 *    Rows beside the op row (`rowsBeside`: an APPEND's meta, and its body when small on Garage)
 *    go in its own batched write; the row then waits for no piece, so without journaled ids it
 *    waits for its mark alone.
 *
 * 4. A checkpoint is tried after a push or a sync once `checkpointEvery` rows are unfolded (or
 *    twice that many are kept), at most once per half safety window, so a computer that only reads
 *    still folds what others write. It folds the unfolded rows older than the safety window into
 *    its base's state. Its `folded` lists every folded row still in storage (it reads the rows
 *    again after loading its base, so a folded row missing then was deleted and need not be
 *    listed), its upTo is the newest folded ts (at least its base's), and its generation is its
 *    base's plus one, so it sorts after its base. A writer that took longer than `retentionMs / 2`
 *    from its sync to its put gives up: rule 5 counts on that bound. It runs beside pushes and
 *    syncs: only its reads and the adoption of the new base wait in their queue, never its writes
 *    (issue 18: every session of a mailbox waited behind a checkpoint).
 *
 * 5. Clean-up deletes an op row only when the newest checkpoint lists it as folded AND this
 *    computer has known the row for `retentionMs` (measured on a clock that never jumps: a wall
 *    clock set forward must not make a row look old enough). Why that is enough: a checkpoint that
 *    could still be put after the deletion and not hold the row would come from a writer that
 *    synced before the row existed; rule 4 bounds that writer's put to half the retention after its
 *    sync, so it is already in storage when the deletion looks at the newest checkpoint, and a
 *    later writer builds on a base that holds the row. Checkpoints beyond the newest
 *    KEEP_CHECKPOINTS are deleted; a reader that loses the race for one lists again.
 *
 * 6. With a witness (witness.ts), what a read finds is checked against the mark of what this
 *    computer saw before, possibly in an earlier run (rollbackCheck.ts says why honest storage
 *    passes). Storage that went back is refused with RolledBack: the state stays as it was, and
 *    nothing is pushed, checkpointed or cleaned up until a read passes again. A new mark is
 *    recorded before the state that depends on it is adopted.
 */
import { open, randomBytes, seal, type SealKey } from "../crypto/aead.ts";
import { RolledBack } from "../errors.ts";
import type { RowEntry, RowWrite, Store } from "../storage/types.ts";
import { checkpointKey, openCheckpoint, sealCheckpoint, sealedHash, type Checkpoint } from "./checkpoint.ts";
import { findRegression } from "./rollbackCheck.ts";
import type { StateMachine } from "./stateMachine.ts";
import { isTimestamp, newTimestamp, timestampAt } from "./timestamp.ts";
import type { SyncMark, SyncWitness } from "./witness.ts";
import { decodeSnapshot, encodeSnapshotParts, snapshotFits, type SnapshotKeeper } from "./localSnapshot.ts";
import {
  checkpointPrefix,
  listCheckpointKeys,
  OP_END,
  readFirstSync,
  readOpRows,
  WATCH,
  type FirstReads,
} from "./firstReads.ts";

export interface BayouOptions<S, Op> {
  store: Store;
  /** The index key, or a ring of it across key epochs (crypto/keyEpochs.ts). */
  key: SealKey;
  path: string;
  machine: StateMachine<S, Op>;
  /** Wall clock, for timestamps and the safety window (default Date.now). */
  clock?: () => number;
  /**
   * A clock that never jumps, for durations: the retention and the checkpoint deadline (default
   * performance.now). A wall clock set forward by NTP must not make a row look old enough to delete.
   */
  elapsed?: () => number;
  /**
   * Calls `fire` once `ms` have passed on the `elapsed` clock and returns what cancels it: the
   * publisher's interval and the deferred mark write. Default setTimeout (a `background` timer does
   * not keep the process alive). A caller that injects `elapsed` injects this too, or its runs
   * depend on real time as well as on its clock (the replay property's flake).
   */
  schedule?: Schedule;
  /**
   * The random low bits of op timestamps and checkpoint keys, which break ties between writers of
   * one millisecond (default crypto random). A seeded test passes a seeded generator, so that a
   * replay of its seed breaks them as the run did. Never used for the watch value or any nonce.
   */
  tieBits?: (n: number) => Uint8Array;
  /**
   * Try a checkpoint once this many op rows are unfolded (or twice as many are kept), at most once
   * per half safety window (default 100).
   */
  checkpointEvery?: number;
  /** Ops younger than this are not folded into checkpoints (default 60 s). */
  safetyWindowMs?: number;
  /** An op row is kept at least this long after this computer first saw it (default 10 min). */
  retentionMs?: number;
  /** Keeps this computer's mark of what it saw, and is told of refusals (rule 6). None: no checks. */
  witness?: SyncWitness;
  /**
   * A checkpoint that a sync calls for is built after the sync resolves (queued behind it), not
   * before: the caller (a client's SELECT) has its state first. Its failure is then not the sync's;
   * the next sync tries again. Default false: sync resolves once the checkpoint is done.
   */
  checkpointAfterSync?: boolean;
  /**
   * Keeps a snapshot of the state on this computer (localSnapshot.ts): the first sync of a run
   * starts from it when it still fits what storage holds, instead of replaying every unfolded row.
   */
  snapshots?: SnapshotKeeper;
  /**
   * Resolves when background work may run (mail/: a lull in client work of `quietMs`, or the
   * caller's own default), or when `enough()` (asked as it waits) says to stop waiting. A snapshot
   * a sync calls for is saved after the sync resolves, once this resolves (default: on the next
   * turn of the event loop): encoding a 10,000-message index is ~50 ms of CPU, not for a SELECT's
   * answer. A checkpoint a sync or push finds due waits for it too (CHECKPOINT_QUIET_MS).
   */
  idle?: Idle;
  /**
   * Makes a new id for the caller's pieces (a message id). With it, takeIntentId hands out ids
   * already pending in a durable mark (rule 3), so pushes naming them need not wait for a mark.
   */
  newIntentId?: () => string;
  /**
   * The reads of this path's first sync, started before the replica existed (firstReads.ts): its
   * first sync takes them instead of reading (once; reads of another path are ignored). What they
   * give is adopted as any first sync's reads are: decrypted, verified, checked by the witness.
   */
  firstReads?: FirstReads;
}

/** See BayouOptions.idle. */
export type Idle = (quietMs?: number, enough?: () => boolean) => Promise<void>;

/** See BayouOptions.schedule. */
export type Schedule = (ms: number, fire: () => void, background: boolean) => () => void;

function realTimer(ms: number, fire: () => void, background: boolean): () => void {
  const timer = setTimeout(fire, ms);
  if (background) timer.unref();
  return () => clearTimeout(timer);
}

const WATCH_VALUE_BYTES = 8;
/** One decoder for every op row (a replay of an import's rows decodes hundreds). */
const rowDecoder = new TextDecoder();

const KEEP_CHECKPOINTS = 3;
const LOAD_ATTEMPTS = 5;
/** A snapshot is saved (after a sync, queued behind it) once this many rows were applied since. */
const SNAPSHOT_AFTER_ROWS = 10;
/** ...and at most this often (ms on the `elapsed` clock); close() saves what is left. */
const SNAPSHOT_EVERY_MS = 30_000;

const CLEANUP_BATCH = 100;
/**
 * After a look at the rows found no checkpoint due, the next look waits this long (ms on the
 * `elapsed` clock): a checkpoint then starts at most this much later than it could have.
 */
const CHECKPOINT_LOOK_MS = 1_000;
/**
 * A checkpoint found due waits for a lull in client work (`idle`) of CHECKPOINT_QUIET_MS, at most
 * CHECKPOINT_LULL_MS (ms on the `elapsed` clock). Its plan decodes the base, applies the rows it
 * folds and encodes the result on the main thread: at 10,000 messages 60-270 ms of CPU, which ran
 * inside a client's first sync when `import` had left rows older than the safety window
 * (bench/notes.md, wt-embfirst). A client walking its list sends its next command within a few
 * ms, tens under load: the quiet asked for is longer than those gaps. Under a load with no lull
 * the checkpoint runs anyway, seconds late.
 */
const CHECKPOINT_QUIET_MS = 300;
const CHECKPOINT_LULL_MS = 10_000;
/**
 * A snapshot a sync calls for waits for a lull of SNAPSHOT_QUIET_MS, at most SNAPSHOT_LULL_MS (ms
 * on the `elapsed` clock), for the same reason: its encode is 40-170 ms of the main thread at
 * 10,000 messages, and a second computer's first sync calls for one at once (no snapshot, every
 * row replayed). With `idle`'s own quiet (50 ms in mail/) it ran inside the cold header list
 * wherever a chunk's answer left the client 50 ms (bench/notes.md, wt-coldhdr). Saving it later
 * only costs the next start's time, and close() saves what is left.
 */
const SNAPSHOT_QUIET_MS = 300;
const SNAPSHOT_LULL_MS = 10_000;

/** What step 1 of a checkpoint decided, for step 3 to check that it still holds. */
interface CheckpointPlan {
  base: Checkpoint | undefined;
  /** The newest row folded. */
  last: string;
  /** The rebuild count when the plan was made. */
  rebuilds: number;
  unsealed: Omit<Checkpoint, "hash">;
}
/**
 * Ids made pending ahead of use (takeIntentId): this many per mark write, a new lot once fewer than
 * RESERVE_LOW are left. A crash leaves at most RESERVE_IDS + RESERVE_LOW - 1 unused, which the next
 * start looks for in storage and deletes as it does an interrupted push's (two requests each).
 */
const RESERVE_IDS = 32;
const RESERVE_LOW = 16;
/** How long the mark after a push may wait for the next push to write it (deferMarkWrite). */
const MARK_DELAY_MS = 1_000;
/**
 * Watch rewrites start at most this often (ms on the `elapsed` clock): a burst of pushes (a client
 * filing messages one after another) costs one rewrite and read-back per interval, not per push.
 * The first push after a quiet spell is signalled at once; other computers hear of later ones at
 * most this much later.
 */
const PUBLISH_INTERVAL_MS = 100;

export class Bayou<S, Op> {
  state: S;
  private readonly store: Store;
  private readonly key: SealKey;
  private readonly path: string;
  private readonly machine: StateMachine<S, Op>;
  private readonly clock: () => number;
  private readonly elapsed: () => number;
  private readonly schedule: Schedule;
  private readonly tieBits: ((n: number) => Uint8Array) | undefined;
  private readonly checkpointEvery: number;
  private readonly safetyWindowMs: number;
  private readonly retentionMs: number;
  private base: Checkpoint | undefined;
  /**
   * The op rows in storage at the last read (and those pushed since), by ts: decoded, or null when
   * the base folds the row (its ops are never applied again, so they are not kept: 100,000 decoded
   * adds right after an import are ~10 MB). Should a newer base not fold it, the next read decodes it.
   */
  private known = new Map<string, Op[] | RowEntry | null>();
  /**
   * A first sync's early checkpoint, opened and decoded while the listing was in flight
   * (prepareAhead), with the unfolded rows already applied to `state`, in ts order.
   */
  private openedAhead: { checkpoint: Checkpoint; state: S; applied: string[] } | undefined;
  /** When (the `elapsed` clock) each known row was first seen: rule 5. */
  private readonly firstSeen = new Map<string, number>();
  private lastApplied: string | undefined;
  /**
   * The greatest ts of a row this replica has known (newestSeen), kept as rows join `known` rather
   * than found by walking it at every push (issue 18). It never goes down: a row that left `known`
   * since was folded (at or below the base's upTo) or storage went back, which rule 6 refuses.
   */
  private newestRow: string | undefined;
  /** Bumped whenever the state changes, so sync can say whether it did. */
  private version = 0;
  private lastCheckpointTry = Number.NEGATIVE_INFINITY;
  /** When a look at the rows last found no checkpoint due (maybeCheckpoint). */
  private lastFruitlessLook = Number.NEGATIVE_INFINITY;
  private loaded = false;
  private closed = false;
  private readonly checkpointAfterSync: boolean;
  private readonly snapshots: SnapshotKeeper | undefined;
  private readonly idle: Idle | undefined;
  /** A snapshot's save waiting for `idle` (saveSnapshotSoon), at most one. */
  private snapshotSoon: Promise<void> | undefined;
  /** Rows applied since the last snapshot was saved (or since the start, without one). */
  private rowsSinceSnapshot = 0;
  private lastSnapshotAt = Number.NEGATIVE_INFINITY;
  /** The watch row's token at the last sync: unchanged means nothing was pushed since. */
  private syncedWatchToken: string | undefined;
  /**
   * The last sync found no watch row (a new mailbox), and nothing dropped that knowledge since. A
   * rewrite without a token then supersedes exactly what that sync knew (nothing), so its read-back
   * can adopt a token as one with the token of a sync does (rule 3).
   */
  private watchAbsent = false;
  /**
   * A sync in the background after a watch rewrite that could not tell our value from others'
   * (rule 3: the token was dropped while the watch existed). At most one at a time.
   */
  private adopting: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Checkpoints run one after another, outside the queue but for short steps. */
  private checkpoints: Promise<unknown> = Promise.resolve();
  private checkpointRunning = false;
  /** Bumped by every rebuild, so a checkpoint can tell whether the state was rebuilt under it. */
  private rebuilds = 0;
  private readonly witness: SyncWitness | undefined;
  /** The witness's mark, loaded at the first read. */
  private mark: SyncMark | undefined;
  /**
   * Rows pushed here whose watch rewrite has not happened yet (rule 3). Kept in the mark too, so a
   * restart after a crash rewrites the watch.
   */
  private unpublished = false;
  /** Ids named by pushes not known to be whole (rule 3), kept in the mark. */
  private readonly pending = new Set<string>();
  /** Pending ids in a durable mark, not handed out yet (takeIntentId). */
  private reserved: string[] = [];
  /** Ids takeIntentId handed out, pending in a durable mark, not pushed yet. */
  private readonly journaled = new Set<string>();
  private reserving: Promise<void> | undefined;
  private readonly newIntentId: (() => string) | undefined;
  /** Those of them the mark of an earlier run held, for the caller to check (`interrupted`). */
  private leftOver: string[] = [];
  /** Whether the last mark written (in call order) carried `unpublished`, once it is durable. */
  private durableUnpublished = false;
  private markWrites = 0;
  /** The mark in memory is ahead of the one written: the publisher writes it. */
  private markDirty = false;
  /** Bumped by each push, so the publisher knows whether one landed while it rewrote the watch. */
  private pushes = 0;
  /** Pushes between their mark write and their end (the publisher leaves `unpublished` set). */
  private pushesUnderway = 0;
  private publishing: Promise<void> | undefined;
  private publishWanted = false;
  /** When (the `elapsed` clock) the last watch rewrite started. */
  private lastPublishAt = Number.NEGATIVE_INFINITY;
  /** Ends the publisher's wait for its interval at once (settle, close). */
  private hurryPublisher: (() => void) | undefined;
  /**
   * Callers waiting in published(): while any is, the publisher starts no new interval either (a
   * push or checkpoint landing meanwhile would otherwise make them wait one out on the timer).
   */
  private hurried = 0;
  /** Cancels the deferred mark write, if one is scheduled. */
  private markTimer: (() => void) | undefined;
  /**
   * The watch row held another writer's value at our last rewrite: the next push syncs first, so
   * that its guesses (the next UID) start from their rows.
   */
  private othersMoved = false;
  /**
   * This process's watch rewrite and its read-back, while in flight (rule 3). Until it ends, a
   * watch token this replica does not know may be its own rewrite's (ownChange).
   */
  private ownRewrite: Promise<void> | undefined;
  /** Set while storage is behind the mark: every read refuses it again, and nothing is written. */
  private refusal: RolledBack | undefined;
  /** The state was destroyed on purpose (witness.retired): its storage may vanish, nothing is checked. */
  private retired = false;
  /**
   * Record the next mark even if unchanged: after a refusal, and at the first read, so that the
   * witness hears storage passed (and clears what an earlier refusal left for `doctor`).
   */
  private recordAnyway = true;
  /** BayouOptions.firstReads, until the first sync takes them. */
  private firstReads: FirstReads | undefined;

  constructor(opts: BayouOptions<S, Op>) {
    this.store = opts.store;
    this.key = opts.key;
    this.path = opts.path;
    this.machine = opts.machine;
    this.clock = opts.clock ?? Date.now;
    this.elapsed = opts.elapsed ?? (() => performance.now());
    this.schedule = opts.schedule ?? realTimer;
    this.tieBits = opts.tieBits;
    this.checkpointEvery = opts.checkpointEvery ?? 100;
    this.safetyWindowMs = opts.safetyWindowMs ?? 60_000;
    this.retentionMs = opts.retentionMs ?? 600_000;
    this.state = opts.machine.empty();
    this.witness = opts.witness;
    this.checkpointAfterSync = opts.checkpointAfterSync ?? false;
    this.snapshots = opts.snapshots;
    this.idle = opts.idle;
    this.newIntentId = opts.newIntentId;
    if (opts.firstReads?.path === opts.path) this.firstReads = opts.firstReads;
  }

  private opContext(ts: string) {
    return { purpose: "bayou-op", path: `${this.path}/${ts}` };
  }

  private get checkpointPrefix(): string {
    return checkpointPrefix(this.path);
  }

  /** One sync, push or checkpoint at a time: each works on the state the previous one left. */
  private exclusive<T>(section: () => Promise<T>): Promise<T> {
    const result = this.queue.then(section, section);
    this.queue = result.catch(() => undefined); // the caller gets `result`'s error; the queue only waits
    return result;
  }

  /** Reads what other computers pushed (and a newer checkpoint) and brings the state up to date. */
  async sync(): Promise<boolean> {
    // Outside the queue first (issue 18: every NOOP and SELECT waited there behind the writes in
    // flight): a watch nobody moved since our last sync means nothing to read. This process's own
    // pushes are in the state once acknowledged; one still in flight is not, as if it came later.
    if (this.loaded && !this.refusal && !this.othersMoved && this.syncedWatchToken !== undefined) {
      const known = this.syncedWatchToken;
      const watch = await this.store.rows.read(this.path, WATCH);
      if (watch !== null && watch.token === known && this.syncedWatchToken === known) return false;
      if (watch !== null && (await this.ownChange(watch.token))) return false;
    }
    return this.exclusive(async () => {
      const changed = await this.syncNow(false);
      if (
        this.snapshots &&
        this.rowsSinceSnapshot >= SNAPSHOT_AFTER_ROWS &&
        this.elapsed() - this.lastSnapshotAt >= SNAPSHOT_EVERY_MS
      )
        this.saveSnapshotSoon();
      if (!this.checkpointAfterSync) await this.maybeCheckpoint();
      else if (!this.closed)
        // Not awaited: queued behind this section. A failure only delays folding to a later sync.
        void this.exclusive(() => (this.closed ? Promise.resolve() : this.maybeCheckpoint())).catch(
          () => undefined,
        );
      return changed;
    });
  }

  /**
   * Checkpoints are due on rows, not on this computer's own pushes: a server that only reads
   * (mail delivered by other processes) must still fold and clean up what they write.
   */
  private async maybeCheckpoint(): Promise<void> {
    // The cheap tests first: this runs after every push and sync, and the rows kept for the
    // retention are thousands under load. Counting them on every push grew with the run and was
    // 10% of the server's CPU four minutes into a load run (issue 18: throughput fell by half over
    // ten minutes); now they are walked at most once per half safety window.
    if (this.checkpointRunning) return;
    const now = this.elapsed();
    if (now - this.lastCheckpointTry < this.safetyWindowMs / 2) return;
    if (this.known.size < this.checkpointEvery) return; // fewer rows than that: fewer unfolded too
    // Before the first checkpoint is due (a burst of pushes younger than the safety window), each
    // push walked every row twice and found nothing: ~1% of the server's main thread over 1,000
    // sequential APPENDs to a new mailbox, growing with the rows (bench/notes.md, wt-append).
    if (now - this.lastFruitlessLook < CHECKPOINT_LOOK_MS) return;
    this.lastFruitlessLook = now;
    let unfolded = 0;
    for (const ts of this.known.keys()) if (!this.isFolded(ts)) unfolded += 1;
    if (unfolded < this.checkpointEvery && this.known.size < 2 * this.checkpointEvery) return;
    if (!this.somethingToFoldOrDelete(now)) return; // spares reading every row again for nothing
    this.lastFruitlessLook = Number.NEGATIVE_INFINITY;
    this.lastCheckpointTry = now;
    // Not awaited: the push or sync that found it due is answered now (issue 18: every session
    // waited behind a checkpoint). A checkpoint is an optimisation: the ops are already safe, so
    // its failure is nobody's.
    this.checkpointRunning = true;
    // After a lull in client work: its plan's CPU is not for a client's next answer.
    void this.checkpoint(true)
      .catch(() => undefined)
      .finally(() => (this.checkpointRunning = false));
  }

  /**
   * Whether a checkpoint could do anything with what this replica knows: fold a row older than the
   * safety window, or delete a folded row seen longer ago than the retention. Rows others push are
   * known after the next sync, which calls maybeCheckpoint again.
   */
  private somethingToFoldOrDelete(now: number): boolean {
    const limit = timestampAt(this.clock() - this.safetyWindowMs);
    for (const ts of this.known.keys()) {
      if (this.isFolded(ts)) {
        const seen = this.firstSeen.get(ts);
        if (seen !== undefined && now - seen >= this.retentionMs) return true;
      } else if (ts <= limit) return true;
    }
    return false;
  }

  private async syncNow(force: boolean): Promise<boolean> {
    // A first sync reads a checkpoint whatever the watch says: its newest one is fetched beside
    // the watch and the rows, and adopted only if the listing rule 2 reads after the rows still
    // names it (issue 11: a second computer's SELECT waited on four round trips, now three). They
    // may have started before this replica existed (BayouOptions.firstReads): taken once.
    const first = this.loaded ? undefined : (this.takeFirstReads() ?? readFirstSync(this.store, this.path));
    const early = first?.early;
    const snapshot =
      this.loaded || !this.snapshots ? undefined : this.snapshots.load(this.path).catch(() => undefined);
    const watch = await (first?.watch ?? this.store.rows.read(this.path, WATCH));
    const watchToken = watch?.token;
    if (this.loaded && !force && !this.refusal) {
      if (watchToken === this.syncedWatchToken) return false;
      if (await this.ownChange(watchToken)) return false;
    }
    const before = this.version;
    // Rule 2: rows first, then the checkpoint.
    const rows = this.rowsOf(await (first?.rows ?? readOpRows(this.store.rows, this.path)));
    const loading = this.loadNewestCheckpoint(early, first?.listing);
    try {
      if (early) await this.prepareAhead(rows, early, snapshot);
      const base = await loading;
      await this.verify(rows, base);
      await this.record(this.markOf(rows.keys(), base));
      if (this.loaded || !(await this.fromSnapshot(rows, base, snapshot))) this.integrate(rows, base);
    } finally {
      this.openedAhead = undefined;
    }
    this.loaded = true;
    this.othersMoved = false;
    this.syncedWatchToken = watchToken;
    this.watchAbsent = watch === null;
    // A push of an earlier run (or one whose rewrite failed) may still wait for its watch rewrite.
    if (this.unpublished) this.schedulePublish();
    return this.version !== before;
  }

  /** The reads handed to this replica for its first sync, once (BayouOptions.firstReads). */
  private takeFirstReads(): FirstReads | undefined {
    const reads = this.firstReads;
    this.firstReads = undefined;
    return reads;
  }

  /** Every op row in storage: its ops if known decoded, else the row (integrate decodes it if needed). */
  private async readRows(): Promise<Map<string, Op[] | RowEntry>> {
    return this.rowsOf(await readOpRows(this.store.rows, this.path));
  }

  /** The op rows read, by ts: each one's ops if known decoded, else the row. */
  private rowsOf(read: RowEntry[]): Map<string, Op[] | RowEntry> {
    const rows = new Map<string, Op[] | RowEntry>();
    for (const row of read) rows.set(row.sk, this.known.get(row.sk) ?? row);
    return rows;
  }

  private decodeRow(row: RowEntry): Op[] {
    const value = row.values[0];
    if (!value) return [];
    const plain = open(this.key, value, this.opContext(row.sk));
    const batch = JSON.parse(rowDecoder.decode(plain)) as string[];
    return batch.map((b64) => this.machine.decodeOp(Buffer.from(b64, "base64")));
  }

  private listCheckpoints(): Promise<string[]> {
    return listCheckpointKeys(this.store.blobs, this.checkpointPrefix);
  }

  /**
   * A first sync's CPU while rule 2's listing is in flight: the early checkpoint opened and its
   * state decoded, and the op rows it does not fold decoded and applied to it, for
   * loadNewestCheckpoint and rebuild to take if the listing names that checkpoint (up to a round
   * trip of CPU off a cold SELECT). Never an error: what does not open or apply here is done
   * again, and fails, where it was before. Not beside a local snapshot, whose rows stay undecoded.
   */
  private async prepareAhead(
    rows: Map<string, Op[] | RowEntry>,
    early: Promise<{ key: string; sealed: Uint8Array | null } | undefined>,
    snapshot: Promise<Uint8Array | undefined> | undefined,
  ): Promise<void> {
    if (await snapshot) return;
    await new Promise((resolve) => setImmediate(resolve)); // the listing's request goes out first
    const ahead = await early;
    if (!ahead?.sealed) return;
    let checkpoint: Checkpoint;
    let state: S;
    try {
      checkpoint = openCheckpoint(this.key, ahead.key, ahead.sealed);
      state = this.machine.decodeState(checkpoint.encoded);
    } catch {
      return;
    }
    let decoded = true;
    for (const [ts, v] of rows) {
      if (Array.isArray(v) || checkpoint.folded.has(ts)) continue;
      try {
        rows.set(ts, this.decodeRow(v));
      } catch {
        decoded = false; // integrate decodes it again and throws there, before anything changes
      }
    }
    if (!decoded) {
      this.openedAhead = { checkpoint, state, applied: [] };
      return;
    }
    // The replay rebuild would make, once the listing names this checkpoint (rule 1's order).
    const applied = [...rows.keys()].filter((ts) => !checkpoint.folded.has(ts)).sort();
    try {
      for (const ts of applied)
        for (const op of rows.get(ts) as Op[]) state = this.machine.apply(state, op, ts);
    } catch {
      return; // the state is half changed: rebuild decodes it again and meets the error itself
    }
    this.openedAhead = { checkpoint, state, applied };
  }

  /**
   * The newest checkpoint, listing again when a clean-up elsewhere deleted it under our feet.
   * `early` (firstReads.ts, started before the rows were read) spares the GET when this listing,
   * made after the rows, still names it: what is adopted is what rule 2's order names. A checkpoint
   * is written once under its key (a reseal writes the next generation), so the bytes read early
   * are those a later read of that key would get. `listed`: a first sync's listing, made after its
   * rows (firstReads.ts), for the first attempt.
   */
  private async loadNewestCheckpoint(
    early?: Promise<{ key: string; sealed: Uint8Array | null } | undefined>,
    listed?: Promise<string[]>,
  ): Promise<Checkpoint | undefined> {
    for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
      const newest = (await (attempt === 0 && listed ? listed : this.listCheckpoints())).pop();
      if (!newest) return undefined;
      if (newest === this.base?.key) return this.base;
      const ahead = attempt === 0 ? await early : undefined;
      if (ahead?.key === newest && this.openedAhead?.checkpoint.key === newest)
        return this.openedAhead.checkpoint;
      const sealed =
        ahead?.key === newest && ahead.sealed ? ahead.sealed : await this.store.blobs.get(newest);
      if (sealed) return openCheckpoint(this.key, newest, sealed);
    }
    // Only when checkpoints keep vanishing as fast as we list them; the rows are still all there
    // for the base we had, so keep it and let the next sync try again.
    return this.base;
  }

  /** Rule 6: throws RolledBack, and keeps refusing, while storage is behind this computer's mark. */
  private async verify(rows: ReadonlyMap<string, unknown>, base: Checkpoint | undefined): Promise<void> {
    if (!this.witness || this.retired) return;
    if (!this.mark) {
      this.mark = (await this.witness.load(this.path)) ?? { unfolded: [] };
      if (this.mark.unpublished) this.unpublished = this.durableUnpublished = true;
      for (const id of this.mark.pending ?? []) this.pending.add(id);
      this.leftOver = [...(this.mark.pending ?? [])];
    }
    const reader = {
      get: (key: string) => this.store.blobs.get(key),
      open: (key: string, sealed: Uint8Array) => openCheckpoint(this.key, key, sealed),
    };
    const regression = await findRegression(this.mark, rows, base, reader);
    if (regression === undefined) {
      if (this.refusal) this.recordAnyway = true;
      this.refusal = undefined;
      return;
    }
    if (await this.witness.retired(this.path)) {
      this.retired = true;
      this.refusal = undefined;
      this.mark = undefined;
      await this.witness.forget(this.path);
      return;
    }
    this.refusal = new RolledBack(
      `storage went back at ${this.path}: ${regression}; refusing it, and writing nothing over it`,
    );
    // What this run saw beyond the mark on disk (its own pushes, written a moment after them) is
    // written now, so that a restart refuses the same storage.
    await this.flushMark();
    // The refusal stands even if the witness cannot keep a trace of it.
    await this.witness.refused(this.path, this.refusal).catch(() => undefined);
    throw this.refusal;
  }

  /** What this computer has seen once it adopts `rows` and `base`. */
  private markOf(rows: Iterable<string>, base: Checkpoint | undefined): SyncMark {
    const unfolded: string[] = [];
    let newestTs = base?.upTo;
    for (const ts of rows) {
      if (!this.isFolded(ts, base)) unfolded.push(ts);
      if (newestTs === undefined || ts > newestTs) newestTs = ts;
    }
    return {
      ...(base ? { checkpoint: { key: base.key, upTo: base.upTo, gen: base.gen, hash: base.hash } } : {}),
      ...(newestTs !== undefined ? { newestTs } : {}),
      unfolded: unfolded.sort(),
      ...(this.unpublished ? { unpublished: true as const } : {}),
      ...(this.pending.size > 0 ? { pending: [...this.pending] } : {}),
    };
  }

  /** Hands a new mark to the witness, durably, before the state that depends on it is adopted. */
  private async record(mark: SyncMark): Promise<void> {
    if (!this.witness || this.retired) return;
    if (this.mark && !this.recordAnyway && !this.markDirty && sameMark(this.mark, mark)) return;
    this.markDirty = false;
    await this.writeMark(mark);
    this.mark = mark;
    this.recordAnyway = false;
  }

  /**
   * The one way a mark is written. The witness writes a path's marks one at a time in call order,
   * so the last one called is the one on disk; `durableUnpublished` says whether that one carries
   * the flag, counting a write that clears it from its call (a push must then flag again) and one
   * that sets it from its end.
   */
  private async writeMark(given: SyncMark): Promise<void> {
    // The ids still pending are always those of this replica, whatever mark is being written.
    const { pending: _given, ...rest } = given;
    const mark: SyncMark = this.pending.size > 0 ? { ...rest, pending: [...this.pending] } : rest;
    const n = ++this.markWrites;
    if (!mark.unpublished) this.durableUnpublished = false;
    await this.witness!.record(this.path, mark);
    if (n === this.markWrites) this.durableUnpublished = mark.unpublished === true;
  }

  private isFolded(ts: string, base = this.base): boolean {
    return base?.folded.has(ts) ?? false;
  }

  /** Adopts `rows` and `base` as what storage holds, applying or rebuilding as rule 2 says. */
  private integrate(rows: Map<string, Op[] | RowEntry>, base: Checkpoint | undefined): void {
    // Decode first: a row that does not open throws before anything changes.
    // A row a snapshot held stays undecoded (the same entry as in `known`) unless a rebuild needs it.
    const known = new Map<string, Op[] | RowEntry | null>();
    for (const [ts, v] of rows) {
      const lazy = !Array.isArray(v) && this.known.get(ts) === v;
      known.set(ts, this.isFolded(ts, base) ? null : Array.isArray(v) || lazy ? v : this.decodeRow(v));
    }
    const baseChanged = base?.key !== this.base?.key;
    const vanished = [...this.known.keys()].some((ts) => !rows.has(ts) && !this.isFolded(ts, base));
    const fresh = [...rows.keys()].filter((ts) => !this.known.has(ts) && !this.isFolded(ts, base)).sort();
    const inOrder = this.lastApplied === undefined || fresh.length === 0 || fresh[0]! > this.lastApplied;
    const rebuilding = baseChanged || vanished || !inOrder;
    if (rebuilding) for (const [ts, v] of known) if (v && !Array.isArray(v)) known.set(ts, this.decodeRow(v));
    const now = this.elapsed();
    for (const ts of rows.keys()) if (!this.firstSeen.has(ts)) this.firstSeen.set(ts, now);
    for (const ts of this.firstSeen.keys()) if (!rows.has(ts)) this.firstSeen.delete(ts);
    this.known = known;
    this.sawRows(known.keys());
    this.base = base;
    if (rebuilding) this.rebuild();
    else for (const ts of fresh) this.applyRow(ts);
  }

  /** state = base + every known row it did not fold, in ts order (rule 1). */
  private rebuild(): void {
    const ahead = this.openedAhead;
    this.openedAhead = undefined; // decoded once, used once: the replay changes it in place
    const order = this.unfolded();
    // prepareAhead's state is the base with `applied` replayed: taken when that is how the replay
    // below begins (a first sync whose listing named the early checkpoint: always).
    const taken =
      this.base !== undefined &&
      ahead?.checkpoint.key === this.base.key &&
      ahead.applied.every((ts, i) => order[i] === ts);
    this.state = taken
      ? ahead.state
      : this.base
        ? this.machine.decodeState(this.base.encoded)
        : this.machine.empty();
    this.lastApplied = undefined;
    this.version += 1;
    this.rebuilds += 1;
    const skip = taken ? ahead.applied.length : 0;
    for (let i = 0; i < skip; i++) this.countApplied(order[i]!);
    for (let i = skip; i < order.length; i++) this.applyRow(order[i]!);
  }

  private unfolded(): string[] {
    return [...this.known.keys()].filter((ts) => !this.isFolded(ts)).sort();
  }

  /** The ops of a known row, decoding (once) a row a snapshot held. */
  private opsOf(ts: string): Op[] | null | undefined {
    const v = this.known.get(ts);
    if (v === undefined || v === null || Array.isArray(v)) return v;
    const ops = this.decodeRow(v);
    this.known.set(ts, ops);
    return ops;
  }

  /**
   * First sync of a run: starts from this computer's snapshot when it is the base plus the oldest
   * unfolded rows (localSnapshot.ts); those rows are then not decoded. False when it does not fit.
   */
  private async fromSnapshot(
    rows: Map<string, Op[] | RowEntry>,
    base: Checkpoint | undefined,
    loaded?: Promise<Uint8Array | undefined>,
  ): Promise<boolean> {
    if (!this.snapshots) return false;
    const bytes = await (loaded ?? this.snapshots.load(this.path).catch(() => undefined));
    const snapshot = bytes ? decodeSnapshot(bytes) : undefined;
    if (!snapshot) return false;
    const unfolded = [...rows.keys()].filter((ts) => !this.isFolded(ts, base)).sort();
    if (!snapshotFits(snapshot, base?.key ?? null, unfolded)) return false;
    let state: S;
    try {
      state = this.machine.decodeState(snapshot.state);
    } catch {
      return false; // written by another version, or damaged: replay instead
    }
    const held = new Set(snapshot.applied);
    // The rows it does not hold are decoded first: one that does not open throws before anything changes.
    const known = new Map<string, Op[] | RowEntry | null>();
    for (const [ts, v] of rows)
      known.set(
        ts,
        this.isFolded(ts, base) ? null : held.has(ts) || Array.isArray(v) ? v : this.decodeRow(v),
      );
    const now = this.elapsed();
    for (const ts of rows.keys()) if (!this.firstSeen.has(ts)) this.firstSeen.set(ts, now);
    this.known = known;
    this.sawRows(known.keys());
    this.base = base;
    this.state = state;
    this.lastApplied = snapshot.applied[snapshot.applied.length - 1];
    this.version += 1;
    this.rowsSinceSnapshot = 0;
    this.lastSnapshotAt = now;
    for (const ts of unfolded) if (!held.has(ts)) this.applyRow(ts);
    return true;
  }

  /** Saves a snapshot after the caller's sync resolves and `idle` says so; close() saves what is left. */
  private saveSnapshotSoon(): void {
    if (this.snapshotSoon) return;
    this.snapshotSoon = (async () => {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.idle) {
        const until = this.elapsed() + SNAPSHOT_LULL_MS;
        await this.idle(SNAPSHOT_QUIET_MS, () => this.closed || this.elapsed() >= until);
      }
      await this.exclusive(() => this.saveSnapshot());
    })()
      .catch(() => undefined)
      .finally(() => (this.snapshotSoon = undefined));
  }

  /** Keeps the current state as this computer's snapshot; a failure only costs the next start time. */
  private async saveSnapshot(): Promise<void> {
    if (!this.snapshots || this.closed || !this.loaded || this.refusal) return;
    const parts = encodeSnapshotParts({
      baseKey: this.base?.key ?? null,
      applied: this.unfolded(),
      state: this.machine.encodeState(this.state),
    });
    this.rowsSinceSnapshot = 0;
    this.lastSnapshotAt = this.elapsed();
    await this.snapshots.save(this.path, parts);
  }

  /** Saves a snapshot if rows were applied since the last one (at the end of a run). */
  flushSnapshot(): Promise<void> {
    if (!this.snapshots || this.rowsSinceSnapshot === 0) return Promise.resolve();
    return this.exclusive(() => this.saveSnapshot());
  }

  private applyRow(ts: string): void {
    const ops = this.opsOf(ts);
    if (ops === null) throw new Error(`bayou: row ${ts} is folded by the base, its ops are not kept`);
    for (const op of ops ?? []) this.state = this.machine.apply(this.state, op, ts);
    this.countApplied(ts);
  }

  /** What applying row `ts` records besides the state (applyRow; rebuild for rows applied ahead). */
  private countApplied(ts: string): void {
    this.lastApplied = ts;
    this.rowsSinceSnapshot += 1;
    this.version += 1;
  }

  /** The greatest ts this computer has seen, in rows or as a checkpoint's upTo. */
  private newestSeen(): string | undefined {
    const upTo = this.base?.upTo;
    if (upTo === undefined) return this.newestRow;
    return this.newestRow === undefined || upTo > this.newestRow ? upTo : this.newestRow;
  }

  /** Keeps `newestRow` up with rows that join `known`. */
  private sawRows(tss: Iterable<string>): void {
    for (const ts of tss) if (this.newestRow === undefined || ts > this.newestRow) this.newestRow = ts;
  }

  /**
   * Writes `ops` (or what the function returns, called once the state is up to date) as one row,
   * and `alongside` (what the ops name) at the same time; resolves when
   * both are durable, with the state updated (rule 3). When the row failed, the state is unchanged
   * and the row may or may not be in storage. When only `alongside` failed, the row is in storage
   * and applied, and the error is thrown: the caller withdraws the ops.
   *
   * `rowsBeside` (rows the ops name, such as an APPEND's meta) go in one batched write with the op
   * row: one request instead of two. They count as part of the row (a failure is the row's), so
   * the row then waits for no piece: it goes at once when every intent is journaled
   * (takeIntentId), and otherwise once the mark naming the intents is durable.
   */
  push(
    ops: Op[] | (() => Op[]),
    alongside?: () => Promise<void>,
    intents: string[] = [],
    rowsBeside: RowWrite[] = [],
  ): Promise<void> {
    const pushed = this.exclusive(async () => {
      this.pushesUnderway += 1;
      try {
        return await this.pushNow(ops, alongside, intents, rowsBeside);
      } finally {
        this.pushesUnderway -= 1;
      }
    });
    // Not part of the acknowledgement: a checkpoint is an optimisation, tried after the push.
    pushed.then(() => this.exclusive(() => this.maybeCheckpoint())).catch(() => undefined); // the push's error is the caller's; a checkpoint's is nobody's
    return pushed;
  }

  /** The body of push, in the queue. */
  private async pushNow(
    ops: Op[] | (() => Op[]),
    alongside: (() => Promise<void>) | undefined,
    intents: string[],
    rowsBeside: RowWrite[],
  ): Promise<void> {
    // A replica that knows no token of the watch (its last sync found no watch row, or a
    // checkpoint or a failed row dropped it) does not sync first here: that cost every APPEND to a
    // mailbox made on this computer a second round trip (docs/architecture.md, Bayou rule 3).
    if (!this.loaded || this.refusal || this.othersMoved) await this.syncNow(false);
    // Built here, on the state the row will follow (an add's guess of the next UID).
    if (typeof ops === "function") ops = ops();
    if (ops.length === 0) {
      await Promise.all([alongside?.(), rowsBeside.length > 0 && this.store.rows.insertBatch(rowsBeside)]);
      return;
    }
    const ts = newTimestamp(this.newestSeen(), this.clock(), this.tieBits);
    const batch = JSON.stringify(ops.map((op) => Buffer.from(this.machine.encodeOp(op)).toString("base64")));
    const marking = this.mark !== undefined && this.witness !== undefined && !this.retired;
    const piecesGoing = alongside?.();
    piecesGoing?.catch(() => undefined); // settled below; not unhandled meanwhile
    let flagging: Promise<void> | undefined;
    const journaled = intents.length > 0 && intents.every((id) => this.journaled.has(id));
    for (const id of intents) this.journaled.delete(id);
    if (marking && intents.length > 0 && !journaled) {
      // The row may go once the intents are on disk (rule 3) or once the pieces are stored,
      // whichever comes first: either way a kill after the row lands leaves nothing named that
      // is not whole or not in the mark. On a nearby host the pieces often win, and the row
      // then waits for no fsync.
      for (const id of intents) this.pending.add(id);
      this.markDirty = false; // this write carries the whole mark
      flagging = this.writeMark({ ...this.mark!, unpublished: true, pending: [...this.pending] });
      flagging.catch(() => undefined); // settled below; not unhandled meanwhile
      try {
        // Rows beside it would land with the row, before they are stored: only the mark will do.
        await (rowsBeside.length > 0 ? flagging : Promise.any([flagging, piecesGoing ?? flagging]));
      } catch {
        // Both failed: nothing names the pieces, and the caller withdraws.
        await piecesGoing?.catch(() => undefined);
        await flagging;
      }
    } else if (marking && !this.durableUnpublished) {
      // The mark says a watch rewrite is due before the row can land (the flag claims no row,
      // so it never makes storage look rolled back); written once for a run of pushes. The
      // intents of a journaled push are in a durable mark already: its row goes at once.
      this.markDirty = false; // this write carries the whole mark
      flagging = this.writeMark({ ...this.mark!, unpublished: true });
    }
    const sealedRow = seal(this.key, new TextEncoder().encode(batch), this.opContext(ts));
    const [row, pieces] = await Promise.allSettled([
      rowsBeside.length > 0
        ? this.store.rows.insertBatch([...rowsBeside, { pk: this.path, sk: ts, value: sealedRow }])
        : this.store.rows.insert(this.path, ts, sealedRow),
      piecesGoing,
    ]);
    // The flag must be on disk before the answer: a kill before the watch rewrite then leaves
    // it for the next start, which rewrites the watch (else other computers, whose syncs stop
    // at an unchanged watch, would not see the row until the next push). When an earlier mark
    // carrying it is already durable, this one is not waited for (its intents were only needed
    // had the row gone before the pieces were stored); a failure of it is retried by the next.
    let flagged: PromiseSettledResult<void> = { status: "fulfilled", value: undefined };
    if (flagging && !this.durableUnpublished) [flagged] = await Promise.allSettled([flagging]);
    else flagging?.catch(() => (this.markDirty = true));
    if (row.status === "rejected") {
      this.syncedWatchToken = undefined; // the row may have landed: the next sync lists the rows
      this.watchAbsent = false;
      throw row.reason;
    }
    this.known.set(ts, ops);
    this.sawRows([ts]);
    this.firstSeen.set(ts, this.elapsed());
    this.applyRow(ts); // ts is greater than every known row, so it goes last
    this.pushes += 1;
    this.unpublished = true;
    if (this.mark) {
      // Checked against from now on; written by the publisher (a crash before that only leaves
      // this row out of the mark, never a mark naming a row that is not stored).
      this.mark = { ...this.mark, newestTs: ts, unfolded: [...this.mark.unfolded, ts], unpublished: true };
      this.markDirty = true;
    }
    if (pieces.status === "fulfilled") this.resolveNow(intents);
    this.schedulePublish();
    if (pieces.status === "rejected") throw pieces.reason;
    if (flagged.status === "rejected") throw flagged.reason;
  }

  /**
   * Rule 3's background half: rewrites the watch row once for every push that landed before it
   * started, then writes the mark (without `unpublished` when no push landed meanwhile). One at a
   * time; a failure leaves `unpublished` set, and the next push or sync tries again.
   */
  private schedulePublish(): void {
    this.publishWanted = true;
    if (this.publishing || this.closed) return;
    this.publishing = (async () => {
      while (this.publishWanted && !this.closed) {
        if (this.lastPublishAt + PUBLISH_INTERVAL_MS > this.elapsed()) await this.publishInterval();
        if (this.closed) break;
        this.publishWanted = false;
        this.lastPublishAt = this.elapsed();
        const pushes = this.pushes;
        try {
          await this.touchWatch();
        } catch {
          return; // still unpublished: the next push or sync schedules it again
        }
        // Not while a push is on its way: its flagged mark may be queued, and a mark without the
        // flag written after it (group commit: instead of it) would leave its row unsignalled.
        if (pushes === this.pushes && !this.publishWanted && this.pushesUnderway === 0) {
          this.unpublished = false;
          if (this.mark?.unpublished) {
            const { unpublished: _published, ...rest } = this.mark;
            this.mark = rest;
            this.markDirty = true;
          }
        }
      }
      this.deferMarkWrite();
    })().finally(() => {
      this.publishing = undefined;
    });
  }

  /** Waits until PUBLISH_INTERVAL_MS after the last rewrite started, unless hurried. */
  private async publishInterval(): Promise<void> {
    const wait = this.lastPublishAt + PUBLISH_INTERVAL_MS - this.elapsed();
    if (wait <= 0 || this.hurried > 0) return;
    await new Promise<void>((resolve) => {
      const cancel = this.schedule(wait, resolve, false);
      this.hurryPublisher = () => {
        cancel();
        resolve();
      };
    });
    this.hurryPublisher = undefined;
  }

  /**
   * The mark after pushes is written a moment later, not after each one: the next push writes it
   * anyway (its intents or its flag carry the whole mark), so a run of appends costs one mark
   * write each, on the local disk, instead of two.
   */
  private deferMarkWrite(): void {
    if (this.markTimer || !this.markDirty || this.closed) return;
    this.markTimer = this.schedule(
      MARK_DELAY_MS,
      () => {
        this.markTimer = undefined;
        void this.flushMark();
      },
      true,
    );
  }

  private async flushMark(): Promise<void> {
    if (!this.markDirty || !this.mark || !this.witness || this.retired) return;
    this.markDirty = false;
    // A failed mark write is retried by the next one; the rows are safe in storage.
    await this.writeMark(this.mark).catch(() => (this.markDirty = true));
  }

  /**
   * An id for pieces to be named by a push, already pending in a durable mark (rule 3), or
   * undefined (no witness yet, no `newIntentId`, or the lot is used up: the caller makes its own
   * id and its push writes the mark first, as before). Tops the lot up in the background.
   */
  takeIntentId(): string | undefined {
    if (!this.newIntentId || !this.mark || !this.witness || this.retired || this.closed) return undefined;
    const id = this.reserved.shift();
    if (id !== undefined) this.journaled.add(id);
    if (this.reserved.length < RESERVE_LOW) this.reserveIds();
    return id;
  }

  /** Makes RESERVE_IDS ids pending and writes the mark; they are handed out once it is durable. */
  private reserveIds(): void {
    if (this.reserving || !this.newIntentId || !this.mark) return;
    const ids = Array.from({ length: RESERVE_IDS }, () => this.newIntentId!());
    for (const id of ids) this.pending.add(id);
    this.markDirty = false; // this write carries the whole mark
    // A push's flagged mark may be queued behind the running write, and the witness writes only
    // the newest of those queued: this one must not drop the flag (rule 3's `unpublished`).
    const flag = this.unpublished || this.pushesUnderway > 0;
    this.reserving = this.writeMark(flag ? { ...this.mark, unpublished: true } : this.mark)
      .then(
        () => {
          // Only those still pending: settle() may have dropped the lot meanwhile.
          if (!this.closed) this.reserved.push(...ids.filter((id) => this.pending.has(id)));
        },
        () => {
          this.markDirty = true;
          for (const id of ids) this.pending.delete(id);
        },
      )
      .finally(() => {
        this.reserving = undefined;
      });
  }

  /** Whether a push naming these ids now would be journaled (its row waiting for no mark). */
  journaledAll(ids: readonly string[]): boolean {
    return ids.length > 0 && ids.every((id) => this.journaled.has(id));
  }

  /**
   * Reserved ids not pushed stop being pending (settle). Nothing was stored under those never
   * handed out; one handed out but not pushed yet makes its push write the mark first, as an id
   * of the caller's own would.
   */
  private releaseReserved(): void {
    const ids = [...this.reserved, ...this.journaled];
    this.reserved = [];
    this.journaled.clear();
    this.resolveNow(ids);
  }

  /**
   * Ids an earlier run's push named and was cut short on (rule 3): the caller checks their pieces,
   * withdraws what is not whole, then calls `resolved`. Empty until the first sync.
   */
  interrupted(): string[] {
    return this.leftOver.filter((id) => this.pending.has(id));
  }

  /** These ids are whole or withdrawn: the mark stops naming them (written in the background). */
  resolved(ids: readonly string[]): void {
    this.resolveNow(ids);
    this.schedulePublish();
  }

  private resolveNow(ids: readonly string[]): void {
    let changed = false;
    for (const id of ids) changed = this.pending.delete(id) || changed;
    if (!changed || !this.mark) return;
    const { pending: _old, ...rest } = this.mark;
    this.mark = this.pending.size > 0 ? { ...rest, pending: [...this.pending] } : rest;
    this.markDirty = true;
  }

  /** Resolves once every push so far has rewritten the watch row (or failed to). */
  async settle(): Promise<void> {
    await this.reserving;
    this.releaseReserved();
    await this.published();
    // The sync a blind rewrite started (adoptToken), and the rewrite that sync may schedule.
    while (this.adopting) {
      await this.adopting;
      await this.published();
    }
    this.markTimer?.();
    this.markTimer = undefined;
    await this.flushMark();
  }

  /** Resolves once the publisher is idle, hurrying it past its interval. */
  private async published(): Promise<void> {
    this.hurried += 1;
    try {
      while (this.publishing) {
        this.hurryPublisher?.();
        await this.publishing;
      }
    } finally {
      this.hurried -= 1;
    }
  }

  private async touchWatch(): Promise<void> {
    // Random bytes: only the row's change matters, and a ts here told the host what the key names
    // already say, in clear (issue 12: no clear ts in any value).
    const value = randomBytes(WATCH_VALUE_BYTES);
    if (!this.loaded || (this.syncedWatchToken === undefined && !this.watchAbsent)) {
      // No token of a sync, and the watch may hold values: ours or others', nobody can tell which,
      // so no read-back could adopt a token. Supersede them, then sync in the background, whose
      // token the next rewrite's read-back starts from. Without that, a replica that only pushes
      // never learned of other writers: every UID it guessed clashed (docs/architecture.md, rule 3).
      const current = await this.store.rows.read(this.path, WATCH);
      await this.store.rows.insert(this.path, WATCH, value, current?.token);
      if (this.loaded) this.adoptToken();
      return;
    }
    // The token of our last sync supersedes the value we knew, without a read first (none, when
    // that sync found no watch row: a new mailbox). If someone wrote the watch since, their value
    // stays beside ours (the watch is only compared for change).
    const known = this.syncedWatchToken;
    let done!: () => void;
    this.ownRewrite = new Promise((resolve) => (done = resolve));
    try {
      await this.store.rows.insert(this.path, WATCH, value, known);
      // If it now holds our value alone, nobody moved it since our last sync, so we know every row
      // it signals: adopt its token, and the next sync costs one read instead of a listing of
      // every row. Otherwise another writer pushed: the next push syncs first.
      const after = await this.store.rows.read(this.path, WATCH);
      if (after?.values.length === 1 && Buffer.from(after.values[0]!).equals(value)) {
        if (this.syncedWatchToken === known && (known !== undefined || this.watchAbsent)) {
          this.syncedWatchToken = after.token;
          this.watchAbsent = false;
        }
      } else this.othersMoved = true;
    } finally {
      this.ownRewrite = undefined;
      done();
    }
  }

  /**
   * Rule 3: a sync off the acknowledgement path, for a replica that knows no token of an existing
   * watch (a checkpoint or a failed row dropped it), so its next rewrite has a read-back. Queued
   * like any sync; a push arriving meanwhile waits for it, once. A failure leaves the replica as it
   * was: the next blind rewrite tries again.
   */
  private adoptToken(): void {
    if (this.adopting || this.closed) return;
    this.adopting = this.sync()
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => (this.adopting = undefined));
  }

  /**
   * Whether `token`, a watch token this replica did not know, is its own rewrite's (issue 18: at
   * 50 clients on Garage, syncs that read the watch between our rewrite and its read-back took it
   * for another computer's push and listed every row, in the queue pushes wait in, about twice a
   * second). Waits for the read-back in flight, if any: it adopts the token when the watch holds
   * our value alone. A token it did not adopt (another writer's value beside ours, or a change
   * after the read-back) is not ours, and the caller reads storage as before.
   */
  private async ownChange(token: string | undefined): Promise<boolean> {
    const rewrite = this.ownRewrite;
    if (rewrite === undefined || token === undefined) return false;
    await rewrite;
    return !this.othersMoved && token === this.syncedWatchToken;
  }

  /**
   * Folds ops older than the safety window into a new checkpoint, then cleans up (rules 4, 5).
   * Resolves once it is done; pushes and syncs go on meanwhile (see checkpointSteps).
   */
  checkpoint(afterLull = false): Promise<void> {
    const run = this.checkpoints.then(async () => {
      if (afterLull) {
        await this.lullForCheckpoint();
        if (this.closed) return; // closed while it waited: no storage call after close
      }
      await this.checkpointSteps();
    });
    this.checkpoints = run.catch(() => undefined);
    return run;
  }

  /** A lull in client work (`idle`), at most CHECKPOINT_LULL_MS of waiting, or this replica's close. */
  private async lullForCheckpoint(): Promise<void> {
    if (!this.idle) return;
    const until = this.elapsed() + CHECKPOINT_LULL_MS;
    await this.idle(CHECKPOINT_QUIET_MS, () => this.closed || this.elapsed() >= until);
  }

  /** Resolves once the checkpoints started so far (in the background, by pushes and syncs) ended. */
  async checkpointsSettled(): Promise<void> {
    // A push tries its checkpoint in a section queued after it: let those run (and start) first.
    await this.exclusive(() => Promise.resolve());
    await this.checkpoints;
  }

  /**
   * A checkpoint in three steps, so that pushes and syncs wait for none of its writes: the reads
   * rule 4 needs and the encoding of the new state run in the queue (the state changes under every
   * push); sealing, the blob put and the clean-up run outside it; the new base is adopted in the
   * queue again, and only if nothing moved the state's base meanwhile (otherwise the next sync reads
   * storage again and adopts whatever is newest, as any sync does).
   */
  private async checkpointSteps(): Promise<void> {
    const started = this.elapsed();
    const plan = await this.exclusive(() => this.planCheckpoint());
    if (plan) {
      const sealed = sealCheckpoint(this.key, plan.unsealed);
      const cp: Checkpoint = { ...plan.unsealed, hash: sealedHash(sealed) };
      if (this.elapsed() - started > this.retentionMs / 2) return; // rule 4: too late to be safe
      await this.store.blobs.put(cp.key, sealed);
      await this.exclusive(() => this.adoptCheckpoint(plan, cp));
      await this.published(); // its watch rewrite, outside the queue (adoptCheckpoint)
    }
    await this.cleanUp();
  }

  /** Step 1, in the queue: sync, read the rows again, and encode base + the rows to fold. */
  private async planCheckpoint(): Promise<CheckpointPlan | undefined> {
    const watch = await this.store.rows.read(this.path, WATCH);
    // The watch has not moved since this replica last read every row: nobody pushed or put a
    // checkpoint since, so the rows it knows are storage's (but for folded ones a clean-up took,
    // which change nothing), and reading them all twice, in the queue every push waits in, would
    // only find the same. That read grew with the rows kept for the retention (issue 18).
    // A token this replica does not know may be its own rewrite's, between its write and its
    // read-back (ownChange): the rows are then still the ones it knows.
    const unchanged =
      this.loaded &&
      !this.refusal &&
      watch !== null &&
      (watch.token === this.syncedWatchToken || (await this.ownChange(watch.token)));
    if (!unchanged) {
      await this.syncNow(true);
      const base = this.base;
      // Rule 4: rows again, now that the base is loaded.
      const rows = await this.readRows();
      if ([...this.known.keys()].some((ts) => !rows.has(ts) && !this.isFolded(ts, base))) {
        return undefined; // a clean-up removed rows our base does not hold: a newer checkpoint exists
      }
      await this.record(this.markOf(rows.keys(), base));
      this.integrate(rows, base);
    }
    const base = this.base;
    const limit = timestampAt(this.clock() - this.safetyWindowMs);
    const unfolded = this.unfolded();
    const fold = unfolded.filter((ts) => ts <= limit);
    if (fold.length === 0) return undefined;
    // The state is base + the unfolded rows in ts order (integrate), and `fold` is a prefix of
    // them. Folding them all gives the current state: encode it as it is, without decoding the base
    // again (tens of MB and a fraction of a second for 100,000 messages).
    const foldsAll = fold.length === unfolded.length;
    let state = foldsAll ? this.state : base ? this.machine.decodeState(base.encoded) : this.machine.empty();
    if (!foldsAll) {
      for (const ts of fold) for (const op of this.opsOf(ts) ?? []) state = this.machine.apply(state, op, ts);
    }
    const last = fold[fold.length - 1]!;
    const upTo = base && base.upTo > last ? base.upTo : last;
    const gen = (base?.gen ?? 0) + 1;
    const folded = new Set([...this.known.keys()].filter((ts) => this.isFolded(ts, base) || ts <= last));
    return {
      base,
      last,
      rebuilds: this.rebuilds,
      unsealed: {
        key: checkpointKey(this.checkpointPrefix, upTo, gen, this.tieBits),
        upTo,
        gen,
        folded,
        // Encoded now: the state object changes under the pushes that follow.
        encoded: this.machine.encodeState(state),
        parent: base ? { key: base.key, hash: base.hash } : null,
      },
    };
  }

  /**
   * Step 3, in the queue, once the checkpoint is stored. The state is base + unfolded rows in ts
   * order; with the same base, no rebuild since the plan, and every row the checkpoint does not
   * fold younger than the last one it folds, that is the checkpoint's state + the same rows, so it
   * stays as it is. Otherwise the next sync reads storage again.
   */
  private async adoptCheckpoint(plan: CheckpointPlan, cp: Checkpoint): Promise<void> {
    const same =
      this.base === plan.base &&
      this.rebuilds === plan.rebuilds &&
      !this.refusal &&
      [...this.known.keys()].every((ts) => cp.folded.has(ts) || ts > plan.last);
    if (same) {
      await this.record(this.markOf(this.known.keys(), cp));
      this.base = cp;
      for (const ts of cp.folded) if (this.known.has(ts)) this.known.set(ts, null);
    }
    // Rule 2: a new checkpoint can move a late op (another writer's checkpoint may have folded it
    // at another place), so readers must look again even though no op was pushed. The publisher
    // rewrites the watch, outside the queue: pushes and syncs do not wait for that round trip
    // (a MOVE right after a SELECT that found a checkpoint due waited for two). A kill before it
    // only leaves readers on the older checkpoint, whose state is the same.
    if (!same) {
      this.syncedWatchToken = undefined;
      this.watchAbsent = false;
    }
    this.schedulePublish();
  }

  /** Rule 5: deletes rows the newest checkpoint holds and that are old enough here, and old checkpoints. */
  private async cleanUp(): Promise<void> {
    const keys = await this.listCheckpoints();
    const newestKey = keys[keys.length - 1];
    if (!newestKey) return;
    let newest = this.base?.key === newestKey ? this.base : undefined;
    if (!newest) {
      const sealed = await this.store.blobs.get(newestKey);
      if (!sealed) return;
      newest = openCheckpoint(this.key, newestKey, sealed);
    }
    const now = this.elapsed();
    const due = [...newest.folded].filter((ts) => {
      const seen = this.firstSeen.get(ts);
      return seen !== undefined && now - seen >= this.retentionMs;
    });
    // Many at a time: the embedded store shares one fsync among them, a network store its pool.
    for (let i = 0; i < due.length; i += CLEANUP_BATCH) {
      const batch = due.slice(i, i + CLEANUP_BATCH);
      const rows = await this.store.rows.readBatch(batch.map((sk) => ({ pk: this.path, sk })));
      const deletions: Promise<void>[] = [];
      rows.forEach((row, j) => {
        if (row && row.values.length > 0)
          deletions.push(this.store.rows.delete(this.path, batch[j]!, row.token));
      });
      await Promise.all(deletions);
      // Gone from storage, and the base folds them (their ops are not kept): forget them, or a
      // replica whose watch never moves (planCheckpoint) would keep them for ever.
      for (const ts of batch) {
        if (this.known.get(ts) === null && this.isFolded(ts)) {
          this.known.delete(ts);
          this.firstSeen.delete(ts);
        }
      }
    }
    for (const old of keys.slice(0, -KEEP_CHECKPOINTS)) await this.store.blobs.delete(old);
  }

  /**
   * Re-seals under the key's current epoch (a rekey, docs/crypto.md "Key epochs") every op row and
   * checkpoint that `isCurrent` says is not: an op row in place (same ts, same ops), the newest
   * checkpoint as a new one (same state and upTo, the next generation, so it sorts after it and
   * every mark of it stays below; its `folded` is the union of its chain's, so a row any ancestor
   * folded is still accounted for once the ancestors are gone), then older checkpoints sealed under
   * an older key are deleted. Returns how many objects were rewritten; 0 means none was left.
   */
  reseal(isCurrent: (sealed: Uint8Array) => boolean): Promise<number> {
    return this.exclusive(async () => {
      await this.syncNow(true);
      let rewritten = 0;
      let start: string | undefined;
      do {
        const page = await this.store.rows.readRange(this.path, { start, end: OP_END, limit: 1000 });
        for (const row of page.items) {
          const value = row.values[0];
          if (!isTimestamp(row.sk) || !value || isCurrent(value)) continue;
          const ctx = this.opContext(row.sk);
          await this.store.rows.insert(
            this.path,
            row.sk,
            seal(this.key, open(this.key, value, ctx), ctx),
            row.token,
          );
          rewritten++;
        }
        start = page.nextStart;
      } while (start);
      const keys = await this.listCheckpoints();
      const base = this.base;
      if (base && base.key === keys[keys.length - 1]) {
        const sealed = await this.store.blobs.get(base.key);
        if (sealed && !isCurrent(sealed)) {
          await this.rewriteCheckpoint(base);
          rewritten++;
        }
      }
      for (const key of keys) {
        if (key === this.base?.key) continue;
        const sealed = await this.store.blobs.get(key);
        if (sealed && !isCurrent(sealed)) {
          await this.store.blobs.delete(key);
          rewritten++;
        }
      }
      return rewritten;
    });
  }

  /** `base` again, sealed under the current key, as the next generation (reseal). */
  private async rewriteCheckpoint(base: Checkpoint): Promise<void> {
    const folded = new Set(base.folded);
    let link = base.parent;
    for (let hops = 0; link && hops < 64; hops++) {
      const sealed = await this.store.blobs.get(link.key);
      if (!sealed || sealedHash(sealed) !== link.hash) break;
      const parent = openCheckpoint(this.key, link.key, sealed);
      for (const ts of parent.folded) folded.add(ts);
      link = parent.parent;
    }
    const unsealed = {
      key: checkpointKey(this.checkpointPrefix, base.upTo, base.gen + 1, this.tieBits),
      upTo: base.upTo,
      gen: base.gen + 1,
      folded,
      encoded: base.encoded,
      parent: { key: base.key, hash: base.hash },
    };
    const sealed = sealCheckpoint(this.key, unsealed);
    const cp: Checkpoint = { ...unsealed, hash: sealedHash(sealed) };
    await this.store.blobs.put(cp.key, sealed);
    await this.record(this.markOf(this.known.keys(), cp));
    this.base = cp; // the same state: nothing to apply
    for (const ts of folded) if (this.known.has(ts)) this.known.set(ts, null);
    await this.touchWatch(); // readers load the new base (rule 2)
  }

  /**
   * Resolves true when the watch row moved since this replica last synced (another writer, or
   * this one, pushed), false at timeout or on abort.
   */
  async waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    // From the token of the last sync, so a push that landed since is not missed; stateless, so
    // several sessions may wait on one replica at once.
    const token = this.loaded ? this.syncedWatchToken : (await this.store.rows.read(this.path, WATCH))?.token;
    const polling = this.store.rows.poll(this.path, WATCH, token, timeoutMs);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<null>((resolve) => {
      onAbort = () => resolve(null);
      if (signal?.aborted) resolve(null);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    const row = await Promise.race([polling, aborted]);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    return row !== null;
  }

  /** Deletes every op row, the watch row and every checkpoint. */
  async destroy(): Promise<void> {
    await this.checkpoints; // a checkpoint put after the deletion would outlive the state
    return this.exclusive(async () => {
      await this.store.rows.deleteRange(this.path, {});
      for (const key of await this.listCheckpoints()) await this.store.blobs.delete(key);
      if (this.witness && !this.retired) await this.witness.forget(this.path);
      this.retired = true;
      this.mark = undefined;
      this.known.clear();
      this.firstSeen.clear();
      this.base = undefined;
      this.rebuild();
    });
  }

  close(): void {
    this.closed = true;
    this.hurryPublisher?.();
    this.markTimer?.();
    this.markTimer = undefined;
    this.known.clear();
    this.firstSeen.clear();
  }
}

function sameMark(a: SyncMark, b: SyncMark): boolean {
  return (
    a.checkpoint?.key === b.checkpoint?.key &&
    a.newestTs === b.newestTs &&
    a.unpublished === b.unpublished &&
    (a.pending ?? []).join() === (b.pending ?? []).join() &&
    a.unfolded.length === b.unfolded.length &&
    a.unfolded.every((ts, i) => ts === b.unfolded[i])
  );
}
