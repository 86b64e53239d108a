/** Shared fixtures for the Bayou tests: an order-sensitive toy state and a replica factory. */
import {
  Bayou,
  type Schedule,
  type StateMachine,
  type SyncMark,
  type SyncWitness,
} from "../../src/sync/index.ts";
import type { Store } from "../../src/storage/types.ts";
import type { SealKey } from "../../src/crypto/aead.ts";
import type { RolledBack } from "../../src/errors.ts";

/**
 * The list of ops applied, in order: any difference in order or any loss shows. A state is stored as
 * each op after a newline: a checkpoint holds thousands of ops in the property tests, and splitting
 * them cost a quarter of what JSON.parse did (it was an eighth of bayouConvergence's CPU time).
 */
export const logMachine: StateMachine<string[], string> = {
  empty: () => [],
  apply: (s, op) => {
    s.push(op);
    return s;
  },
  encodeOp: (op) => new TextEncoder().encode(op),
  decodeOp: (b) => new TextDecoder().decode(b),
  encodeState: (s) => {
    if (s.some((op) => op.includes("\n"))) throw new Error("logMachine's ops hold no newline");
    return new TextEncoder().encode(s.map((op) => `\n${op}`).join(""));
  },
  decodeState: (b) => new TextDecoder().decode(b).split("\n").slice(1),
};

export interface ReplicaOptions {
  key: SealKey;
  checkpointEvery?: number;
  safetyWindowMs?: number;
  retentionMs?: number;
  /** The never-jumping clock; the wall clock by default. */
  elapsed?: () => number;
  /** Bayou's timers; setTimeout by default (a test with its own clock: SteppedSchedule). */
  schedule?: Schedule;
  /** The timestamps' tie-breaking bits; crypto random by default (a seeded test: seededBits). */
  tieBits?: (n: number) => Uint8Array;
  witness?: SyncWitness;
}

/**
 * One computer's marks, in memory (a real computer keeps them on disk: mail/localMarks.ts): what a
 * replica records survives it, so a new replica with the same witness is that computer restarted.
 */
export class MemoryWitness implements SyncWitness {
  readonly marks = new Map<string, SyncMark>();
  readonly refusals: RolledBack[] = [];
  records = 0;
  retiredPaths = new Set<string>();

  async load(path: string): Promise<SyncMark | undefined> {
    const mark = this.marks.get(path);
    return mark && structuredClone<SyncMark>(mark);
  }
  async record(path: string, mark: SyncMark): Promise<void> {
    this.records += 1;
    this.marks.set(path, structuredClone(mark));
  }
  async forget(path: string): Promise<void> {
    this.marks.delete(path);
  }
  async retired(path: string): Promise<boolean> {
    return this.retiredPaths.has(path);
  }
  async refused(_path: string, error: RolledBack): Promise<void> {
    this.refusals.push(error);
  }
}

export function replica(store: Store, clock: () => number, opts: ReplicaOptions): Bayou<string[], string> {
  return new Bayou({
    store,
    key: opts.key,
    path: "index/test",
    machine: logMachine,
    clock,
    elapsed: opts.elapsed ?? clock,
    checkpointEvery: opts.checkpointEvery ?? 1000,
    safetyWindowMs: opts.safetyWindowMs ?? 1000,
    retentionMs: opts.retentionMs ?? 5000,
    ...(opts.witness ? { witness: opts.witness } : {}),
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    ...(opts.tieBits ? { tieBits: opts.tieBits } : {}),
  });
}

/** Op rows (not the watch row) left in storage. */
export async function opRowCount(store: Store): Promise<number> {
  return (await store.rows.readRange("index/test", { end: "g" })).items.length;
}

/**
 * A store whose op-row inserts can be held back and landed later, as a write from a slow computer:
 * its timestamp was taken before rows that land first.
 */
export interface HoldingStore {
  store: Store;
  /** Holds op-row inserts (and, if asked, row listings or blob puts) until `release`. */
  hold(what?: { ranges?: boolean; puts?: boolean }): void;
  release(): Promise<void>;
  /** How many calls are held now. */
  readonly waiting: number;
}

export function holdingStore(inner: Store): HoldingStore {
  let holding = false;
  let holdingRanges = false;
  let holdingPuts = false;
  const held: (() => Promise<void>)[] = [];
  const r = inner.rows;
  const rows: Store["rows"] = {
    read: (pk, sk) => r.read(pk, sk),
    insert: (pk, sk, value, token) => {
      if (!holding || sk === "watch") return r.insert(pk, sk, value, token);
      return new Promise<void>((resolve, reject) => {
        held.push(() => r.insert(pk, sk, value, token).then(resolve, reject));
      });
    },
    insertBatch: (writes) => r.insertBatch(writes),
    readBatch: (keys) => r.readBatch(keys),
    delete: (pk, sk, token) => r.delete(pk, sk, token),
    readRange: (pk, query) => {
      if (!holdingRanges) return r.readRange(pk, query);
      return new Promise((resolve, reject) => {
        held.push(() => r.readRange(pk, query).then(resolve, reject));
      });
    },
    deleteRange: (pk, query) => r.deleteRange(pk, query),
    poll: (pk, sk, token, timeoutMs) => r.poll(pk, sk, token, timeoutMs),
  };
  const b = inner.blobs;
  const blobs: Store["blobs"] = {
    put: (key, bytes) => {
      if (!holdingPuts) return b.put(key, bytes);
      return new Promise<void>((resolve, reject) => {
        held.push(() => b.put(key, bytes).then(resolve, reject));
      });
    },
    get: (key, range) => b.get(key, range),
    head: (key) => b.head(key),
    delete: (key) => b.delete(key),
    list: (prefix, startAfter, limit) => b.list(prefix, startAfter, limit),
    copy: (from, to) => b.copy(from, to),
  };
  return {
    store: { blobs, rows, close: () => inner.close() },
    hold: (what = {}) => {
      holding = true;
      holdingRanges = what.ranges ?? false;
      holdingPuts = what.puts ?? false;
    },
    release: async () => {
      holding = false;
      holdingRanges = false;
      holdingPuts = false;
      for (const land of held.splice(0)) await land();
    },
    get waiting() {
      return held.length;
    },
  };
}
