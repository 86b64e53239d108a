/**
 * Bayou: a state replicated through an op log and checkpoints in storage (DESIGN.md §6).
 *
 * Storage: op batches in rows pk=`path`, sk=<ts>; the row sk="watch", rewritten after each push, is
 * what other computers poll; checkpoints are blobs `<path>/checkpoint/<upTo>-<random>`.
 *
 * The state is a pure function of what storage holds: take the newest checkpoint C (by key), then
 * apply every op row C did not fold: first the late ones (ts <= C.upTo but not in C.folded, which
 * lists every op row its writer had read up to C.upTo), then the rest, each group in ts order. A
 * late op (written after a checkpoint that should have held it) is therefore never lost: it is
 * applied right after C's ops instead of at its ts place, and every computer does the same, so all
 * converge.
 *
 * Checkpoints fold only ops older than a safety window, so ops still in flight from other computers
 * rarely arrive late. Writing checkpoint n deletes the op rows at or below the upTo of checkpoint
 * n-2 that the writer had read (all folded into checkpoint n, and listed in its `folded`, so a reader
 * racing the clean-up does not apply them twice), and the checkpoints older than n-2; storage and
 * the folded lists stay bounded.
 *
 * Incremental syncs read rows after the newest one seen, and every LOOKBACK_EVERY_MS re-read one
 * safety window back to catch ops that arrived a little late; a newer checkpoint triggers a full
 * reload, which catches anything else.
 */
import { open, seal } from "../crypto/aead.ts";
import type { RowEntry, Store } from "../storage/types.ts";
import type { StateMachine } from "./stateMachine.ts";
import { newTimestamp, timestampAt, timestampMs, isTimestamp } from "./timestamp.ts";

export interface BayouOptions<S, Op> {
  store: Store;
  key: Uint8Array;
  path: string;
  machine: StateMachine<S, Op>;
  clock?: () => number;
  /** Write a checkpoint after this many ops were pushed here (default 100). */
  checkpointEvery?: number;
  /** Ops younger than this are not folded into checkpoints (default 60 s). */
  safetyWindowMs?: number;
}

interface OpRow<Op> {
  ts: string;
  ops: Op[];
}

interface Checkpoint<S> {
  key: string;
  upTo: string;
  folded: Set<string>;
  state: S;
}

const WATCH = "watch";
const LOOKBACK_EVERY_MS = 10_000;
const OP_END = "g"; // every ts is lower-case hex, so all sort before "g"; "watch" after it

export class Bayou<S, Op> {
  state: S;
  private readonly store: Store;
  private readonly key: Uint8Array;
  private readonly path: string;
  private readonly machine: StateMachine<S, Op>;
  private readonly clock: () => number;
  private readonly checkpointEvery: number;
  private readonly safetyWindowMs: number;
  private base: Checkpoint<S> | undefined;
  /** Op rows known, by ts, with their decoded ops. */
  private readonly known = new Map<string, Op[]>();
  /** ts of the ops applied on top of the base, in order. */
  private applied: string[] = [];
  private lastSeen: string | undefined;
  private pushedSinceCheckpoint = 0;
  private watchToken: string | undefined;
  private loaded = false;
  private lastLookback = 0;

  constructor(opts: BayouOptions<S, Op>) {
    this.store = opts.store;
    this.key = opts.key;
    this.path = opts.path;
    this.machine = opts.machine;
    this.clock = opts.clock ?? Date.now;
    this.checkpointEvery = opts.checkpointEvery ?? 100;
    this.safetyWindowMs = opts.safetyWindowMs ?? 60_000;
    this.state = opts.machine.empty();
  }

  private opContext(ts: string) {
    return { purpose: "bayou-op", path: `${this.path}/${ts}` };
  }

  private checkpointContext(key: string) {
    return { purpose: "bayou-checkpoint", path: key };
  }

  private get checkpointPrefix(): string {
    return `${this.path}/checkpoint/`;
  }

  /** Reads new op rows (and a newer checkpoint, if any) and brings the state up to date. */
  async sync(): Promise<boolean> {
    const newest = await this.newestCheckpointKey();
    if (!this.loaded || newest !== this.base?.key) {
      const before = this.fingerprint();
      await this.loadCheckpoint(newest);
      await this.readOps(undefined);
      this.rebuild();
      this.loaded = true;
      return this.fingerprint() !== before;
    }
    let from = this.lastSeen;
    const now = this.clock();
    if (this.lastSeen && now - this.lastLookback >= LOOKBACK_EVERY_MS) {
      this.lastLookback = now;
      from = timestampAt(timestampMs(this.lastSeen) - this.safetyWindowMs);
    }
    const fresh = await this.readOps(from);
    if (fresh.length === 0) return false;
    const last = this.applied[this.applied.length - 1];
    if (fresh.every((ts) => last === undefined || ts > last)) {
      for (const ts of fresh.sort()) this.applyRow(ts);
    } else {
      this.rebuild();
    }
    return true;
  }

  private fingerprint(): string {
    return `${this.base?.key ?? ""}|${this.applied.length}|${this.applied[this.applied.length - 1] ?? ""}`;
  }

  private async newestCheckpointKey(): Promise<string | undefined> {
    const keys = await this.listCheckpoints();
    return keys[keys.length - 1];
  }

  private async listCheckpoints(): Promise<string[]> {
    const keys: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.store.blobs.list(this.checkpointPrefix, startAfter, 1000);
      keys.push(...page.keys);
      startAfter = page.nextStartAfter;
    } while (startAfter);
    return keys;
  }

  private async loadCheckpoint(key: string | undefined): Promise<void> {
    if (!key) {
      this.base = undefined;
      return;
    }
    const sealed = await this.store.blobs.get(key);
    if (!sealed) {
      // Removed by another computer's clean-up meanwhile: a newer one exists.
      const newer = await this.newestCheckpointKey();
      if (newer && newer !== key) return this.loadCheckpoint(newer);
      this.base = undefined;
      return;
    }
    const plain = open(this.key, sealed, this.checkpointContext(key));
    const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    const headerLength = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(plain.subarray(4, 4 + headerLength))) as {
      upTo: string;
      folded: string[];
    };
    this.base = {
      key,
      upTo: header.upTo,
      folded: new Set(header.folded),
      state: this.machine.decodeState(plain.subarray(4 + headerLength)),
    };
  }

  /** Reads op rows from `start` on; returns the ts of rows not known before. */
  private async readOps(start: string | undefined): Promise<string[]> {
    const fresh: string[] = [];
    let next = start;
    while (true) {
      const page = await this.store.rows.readRange(this.path, { start: next, end: OP_END, limit: 1000 });
      for (const row of page.items) {
        if (!isTimestamp(row.sk) || this.known.has(row.sk)) continue;
        this.known.set(row.sk, this.decodeRow(row));
        fresh.push(row.sk);
        if (!this.lastSeen || row.sk > this.lastSeen) this.lastSeen = row.sk;
      }
      if (!page.nextStart) break;
      next = page.nextStart;
    }
    return fresh;
  }

  private decodeRow(row: RowEntry): Op[] {
    const value = row.values[0];
    if (!value) return [];
    const plain = open(this.key, value, this.opContext(row.sk));
    const batch = JSON.parse(new TextDecoder().decode(plain)) as string[];
    return batch.map((b64) => this.machine.decodeOp(Buffer.from(b64, "base64")));
  }

  private isFolded(ts: string): boolean {
    const b = this.base;
    if (!b) return false;
    return ts <= b.upTo && b.folded.has(ts);
  }

  /** state = base + every unfolded known op, in ts order. */
  private rebuild(): void {
    this.state = this.base ? this.machine.clone(this.base.state) : this.machine.empty();
    this.applied = [];
    for (const ts of this.unfolded()) this.applyRow(ts);
  }

  private unfolded(): string[] {
    const out: string[] = [];
    for (const ts of this.known.keys()) if (!this.isFolded(ts)) out.push(ts);
    const b = this.base;
    // Late ops (at or below the base's upTo) first, in ts order, then the rest in ts order.
    const late = out.filter((ts) => b && ts <= b.upTo).sort();
    const rest = out.filter((ts) => !b || ts > b.upTo).sort();
    return [...late, ...rest];
  }

  private applyRow(ts: string): void {
    for (const op of this.known.get(ts) ?? []) this.state = this.machine.apply(this.state, op);
    this.applied.push(ts);
  }

  /**
   * Writes `ops` as one row; resolves when it is durable, with the state updated. On failure the
   * state is unchanged.
   */
  async push(ops: Op[]): Promise<void> {
    if (ops.length === 0) return;
    if (!this.loaded) await this.sync();
    const ts = newTimestamp(this.lastSeen, this.clock());
    const batch = JSON.stringify(ops.map((op) => Buffer.from(this.machine.encodeOp(op)).toString("base64")));
    await this.store.rows.insert(
      this.path,
      ts,
      seal(this.key, new TextEncoder().encode(batch), this.opContext(ts)),
    );
    this.known.set(ts, ops);
    this.lastSeen = ts;
    this.applyRow(ts);
    this.pushedSinceCheckpoint += 1;
    await this.touchWatch(ts);
    if (this.pushedSinceCheckpoint >= this.checkpointEvery) {
      this.pushedSinceCheckpoint = 0;
      await this.checkpoint().catch(() => undefined); // a checkpoint is an optimisation; the ops are safe
    }
  }

  private async touchWatch(ts: string): Promise<void> {
    const current = await this.store.rows.read(this.path, WATCH);
    await this.store.rows.insert(this.path, WATCH, new TextEncoder().encode(ts), current?.token);
  }

  /** Folds ops older than the safety window into a new checkpoint and cleans up old rows. */
  async checkpoint(): Promise<void> {
    await this.sync();
    const upTo = timestampAt(this.clock() - this.safetyWindowMs);
    const foldable = this.unfolded().filter((ts) => ts <= upTo);
    if (foldable.length === 0) return;
    const lastFolded = foldable.reduce((a, b) => (a > b ? a : b));
    const checkpoints = await this.listCheckpoints();
    // The floor is the upTo of the checkpoint two before this one.
    const older = checkpoints.slice(-2);
    const floor = older.length === 2 ? checkpointUpTo(older[0]!) : "";
    let state = this.base ? this.machine.clone(this.base.state) : this.machine.empty();
    for (const ts of foldable)
      for (const op of this.known.get(ts) ?? []) state = this.machine.apply(state, op);
    const folded = [...this.known.keys()].filter((ts) => ts <= lastFolded).sort();
    const key = `${this.checkpointPrefix}${lastFolded}-${newTimestamp(undefined, this.clock()).slice(12)}`;
    const header = new TextEncoder().encode(JSON.stringify({ upTo: lastFolded, folded }));
    const body = this.machine.encodeState(state);
    const plain = new Uint8Array(4 + header.length + body.length);
    new DataView(plain.buffer).setUint32(0, header.length);
    plain.set(header, 4);
    plain.set(body, 4 + header.length);
    await this.store.blobs.put(key, seal(this.key, plain, this.checkpointContext(key)));
    // Clean up: rows at or below the floor that we read (all folded into the new checkpoint),
    // and checkpoints older than the two kept before the new one.
    for (const ts of [...this.known.keys()]) {
      if (floor && ts <= floor) {
        const row = await this.store.rows.read(this.path, ts);
        if (row) await this.store.rows.delete(this.path, ts, row.token);
        this.known.delete(ts);
      }
    }
    for (const old of checkpoints.slice(0, -2)) await this.store.blobs.delete(old);
    await this.sync();
  }

  /** Resolves true when another writer pushed (the watch row moved), false at timeout. */
  async waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.watchToken === undefined) {
      const current = await this.store.rows.read(this.path, WATCH);
      this.watchToken = current?.token;
    }
    const polling = this.store.rows.poll(this.path, WATCH, this.watchToken, timeoutMs);
    const aborted = new Promise<null>((resolve) => {
      if (signal?.aborted) resolve(null);
      signal?.addEventListener("abort", () => resolve(null), { once: true });
    });
    const row = await Promise.race([polling, aborted]);
    if (!row) return false;
    this.watchToken = row.token;
    return true;
  }

  /** Deletes every op row, the watch row and every checkpoint. */
  async destroy(): Promise<void> {
    await this.store.rows.deleteRange(this.path, {});
    for (const key of await this.listCheckpoints()) await this.store.blobs.delete(key);
    this.known.clear();
    this.base = undefined;
    this.rebuild();
  }

  close(): void {
    this.known.clear();
  }
}

function checkpointUpTo(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.slice(0, name.indexOf("-"));
}
