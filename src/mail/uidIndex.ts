/**
 * The UidIndex of one mailbox: which messages it holds, with their UID, MODSEQ and flags. A plain
 * state with a deterministic `applyUidOp`, replayed by sync/ (Bayou) in op-timestamp order on every
 * computer, so all of them assign the same UIDs and MODSEQs (DESIGN.md §6).
 *
 * UIDs and MODSEQs are assigned when an op is applied, never stored in the op. An "add" op carries
 * the UID its writer expected (`guessUid`, the writer's UIDNEXT when it pushed, which it may already
 * have told its client in APPENDUID). If the replay gives the message another UID, two computers
 * really handed out the same UID, and only then does UIDVALIDITY move (RFC 3501 §2.3.1.1).
 *
 * For speed on 100,000-message mailboxes `applyUidOp` updates the state in place and returns it;
 * nothing keeps an older state (sync/ decodes a fresh one from a checkpoint to rebuild).
 */

export interface MailEntry {
  id: string;
  uid: number;
  modseq: number;
  flags: string[];
}

export interface Vanished {
  uid: number;
  modseq: number;
}

export interface UidIndex {
  uidvalidity: number;
  uidnext: number;
  highestModseq: number;
  byId: Map<string, MailEntry>;
  /** UIDs present, ascending: sequence number n is uids[n - 1]. */
  uids: number[];
  byUid: Map<number, MailEntry>;
  /** Expunged UIDs with the MODSEQ of their expunge, in MODSEQ order (RFC 7162 VANISHED). */
  vanished: Vanished[];
}

export type FlagMode = "add" | "remove" | "set";

export type UidOp =
  | { t: "add"; id: string; guessUid: number; flags: string[] }
  | { t: "flags"; ids: string[]; mode: FlagMode; flags: string[] }
  | { t: "expunge"; ids: string[] };

export function emptyUidIndex(uidvalidity: number): UidIndex {
  return {
    uidvalidity,
    uidnext: 1,
    highestModseq: 1,
    byId: new Map(),
    uids: [],
    byUid: new Map(),
    vanished: [],
  };
}

export function applyUidOp(state: UidIndex, op: UidOp): UidIndex {
  switch (op.t) {
    case "add":
      return applyAdd(state, op);
    case "flags":
      return applyFlags(state, op.ids, op.mode, op.flags);
    case "expunge":
      return applyExpunge(state, op.ids);
  }
}

function applyAdd(state: UidIndex, op: { id: string; guessUid: number; flags: string[] }): UidIndex {
  if (state.byId.has(op.id)) return state; // the same message added twice (a retried push): keep the first
  const uid = state.uidnext;
  if (op.guessUid !== uid) state.uidvalidity += 1;
  state.uidnext = uid + 1;
  state.highestModseq += 1;
  const entry: MailEntry = {
    id: op.id,
    uid,
    modseq: state.highestModseq,
    flags: internFlags(normalizeFlags(op.flags)),
  };
  appendEntry(state, entry);
  return state;
}

/** Adds an entry whose UID is above every UID in `state` (so `uids` stays sorted). */
export function appendEntry(state: UidIndex, entry: MailEntry): void {
  state.byId.set(entry.id, entry);
  state.byUid.set(entry.uid, entry);
  state.uids.push(entry.uid);
}

function applyFlags(state: UidIndex, ids: string[], mode: FlagMode, flags: string[]): UidIndex {
  const changed: MailEntry[] = [];
  for (const id of ids) {
    const entry = state.byId.get(id);
    if (!entry) continue; // expunged meanwhile
    const next = changeFlags(entry.flags, mode, flags);
    if (next.length === entry.flags.length && next.every((f, i) => f === entry.flags[i])) continue;
    entry.flags = internFlags(next);
    changed.push(entry);
  }
  if (changed.length === 0) return state;
  // One MODSEQ for the whole op: RFC 7162 §3.1 lets messages changed together share it.
  state.highestModseq += 1;
  for (const entry of changed) entry.modseq = state.highestModseq;
  return state;
}

function applyExpunge(state: UidIndex, ids: string[]): UidIndex {
  const gone = new Set<number>();
  for (const id of ids) {
    const entry = state.byId.get(id);
    if (!entry) continue;
    gone.add(entry.uid);
    state.byId.delete(id);
    state.byUid.delete(entry.uid);
  }
  if (gone.size === 0) return state;
  state.highestModseq += 1;
  state.uids = state.uids.filter((uid) => !gone.has(uid));
  for (const uid of [...gone].sort((a, b) => a - b)) {
    state.vanished.push({ uid, modseq: state.highestModseq });
  }
  return state;
}

const shared = new Map<string, readonly string[]>();
const MAX_SHARED = 4096;

/**
 * One frozen array per distinct flag list: 100,000 messages hold a handful of lists between them,
 * not 100,000 arrays. Nothing changes an entry's flags in place (applyFlags replaces them).
 */
export function internFlags(flags: string[]): string[] {
  const key = flags.join(" "); // flags are atoms: no spaces
  const known = shared.get(key);
  if (known) return known as string[];
  if (shared.size >= MAX_SHARED) return flags;
  shared.set(key, Object.freeze(flags));
  return flags;
}

/** Flags are kept sorted and unique; system flags keep their RFC 3501 spelling. */
export function normalizeFlags(flags: string[]): string[] {
  const seen = new Map<string, string>();
  for (const f of flags) {
    const key = f.toLowerCase();
    if (key === "\\recent") continue; // RFC 3501 §2.3.2: \Recent is never stored by a client
    if (!seen.has(key)) seen.set(key, canonicalFlag(f));
  }
  return [...seen.values()].sort();
}

const SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];

function canonicalFlag(flag: string): string {
  return SYSTEM_FLAGS.find((s) => s.toLowerCase() === flag.toLowerCase()) ?? flag;
}

export function changeFlags(current: string[], mode: FlagMode, flags: string[]): string[] {
  if (mode === "set") return normalizeFlags(flags);
  if (mode === "add") return normalizeFlags([...current, ...flags]);
  const drop = new Set(flags.map((f) => f.toLowerCase()));
  return current.filter((f) => !drop.has(f.toLowerCase()));
}

/** Sequence number (1-based) of a UID, or 0 when absent. Binary search over the sorted UIDs. */
export function seqOfUid(state: UidIndex, uid: number): number {
  let lo = 0;
  let hi = state.uids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = state.uids[mid]!;
    if (v === uid) return mid + 1;
    if (v < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

export function encodeUidOp(op: UidOp): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(op));
}

export function decodeUidOp(bytes: Uint8Array): UidOp {
  const op = JSON.parse(new TextDecoder().decode(bytes)) as UidOp;
  if (op.t !== "add" && op.t !== "flags" && op.t !== "expunge") {
    throw new Error(`unknown UidIndex op "${String((op as { t: unknown }).t)}"`);
  }
  return op;
}
