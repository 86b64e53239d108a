/**
 * The UidIndex of one mailbox: which messages it holds, with their UID, MODSEQ and flags. A plain
 * state with a deterministic `applyUidOp`, replayed by sync/ (Bayou) in op-timestamp order on every
 * computer (DESIGN.md §6).
 *
 * UIDs are claims. An "add" op carries the UID its writer handed out (`guessUid`: the writer's
 * UIDNEXT when it pushed, which it may already have told its client in APPENDUID); a "renumber" op
 * claims a fresh UID for a message whose claim clashed. Which UID a message shows depends only on
 * the set of claims, never on the order they are applied in, so late ops and checkpoints that fold
 * ops in another order give every computer the same UIDs:
 *
 * - A UID claimed by two different messages is burned: it is never shown again, for either.
 * - A message shows its highest claim, if that claim is not burned; its lower claims are dead.
 * - A message whose highest claim is burned (or dead) is "unplaced": invisible until a later
 *   renumber op gives it a fresh claim (mail/mailbox.ts pushes one as soon as it sees one).
 * - A "burn" op claims a few UIDs for no message (placementOps: the gap below aligned fresh
 *   claims), so they are never shown.
 * - UIDNEXT is above every UID ever claimed. Every claim that stops being shown goes to `vanished`
 *   (RFC 7162 VANISHED), and no claim on a vanished UID is ever shown.
 *
 * Why renumbering is an op and not computed by the replay alone: a UID the replay made up is not in
 * storage, so a writer that has not seen the clash can claim the same number, and a computer that
 * showed the made-up UID for one message would then show it for another. A stored claim is a claim
 * like any other: the clash rule burns it. UIDVALIDITY never changes here (RFC 3501 §2.3.1.1).
 *
 * MODSEQ: each op that changes something takes max(HIGHESTMODSEQ + 1, a floor from its row's
 * timestamp). The floor makes an op's MODSEQ depend on its own time, not on how many ops happened to
 * be applied before it, so a late op or a checkpoint that folded ops in another order does not move
 * MODSEQs back.
 *
 * For speed on 100,000-message mailboxes `applyUidOp` updates the state in place and returns it;
 * nothing keeps an older state (sync/ decodes a fresh one from a checkpoint to rebuild).
 */
import { timestampMs } from "../sync/index.ts";
import { flagListKey, sameFlagList } from "./flagListKey.ts";
import { ShownMessages } from "./shownMessages.ts";

export interface MailEntry {
  id: string;
  /** The message's highest claim: shown when the message is in `byUid`, burned when it is unplaced. */
  uid: number;
  modseq: number;
  flags: string[];
  /**
   * RFC 8514 save date: when the add op that brought the message into this mailbox was written
   * (its row's timestamp, ms). Absent for messages of checkpoints written before it was kept.
   */
  saved?: number;
}

export interface Vanished {
  uid: number;
  modseq: number;
}

export interface UidIndex {
  uidvalidity: number;
  /** Above every UID ever claimed. */
  uidnext: number;
  highestModseq: number;
  /** The messages shown, in UID order, as typed columns (shownMessages.ts). */
  readonly shown: ShownMessages;
  /** The messages shown, by id. */
  readonly byId: ShownById;
  /** UIDs shown, ascending: sequence number n is uids[n - 1]. Changed in place. */
  readonly uids: readonly number[];
  /** The shown entries by UID: a binary search of `uids` (ShownByUid). */
  readonly byUid: ShownByUid;
  /** Messages whose highest claim clashed, waiting for a renumber op; never shown. */
  unplaced: Map<string, MailEntry>;
  /** Claimed UIDs no longer shown, with the MODSEQ of their going, in MODSEQ order (RFC 7162 VANISHED). */
  vanished: Vanished[];
  /** The UIDs of `vanished`, for lookups: a claim on one of them is never shown. */
  vanishedUids: Set<number>;
}

/**
 * Lookups by UID over the shown messages, in UID order. Not a Map: with 100,000 messages a Map
 * of them costs ~37 bytes a message (its table grows by doubling) where the sorted UIDs already
 * hold what a binary search needs; a lookup is 17 comparisons. Entries are snapshots (shownMessages.ts).
 */
export class ShownByUid {
  constructor(private readonly shown: ShownMessages) {}
  get size(): number {
    return this.shown.size;
  }
  get(uid: number): MailEntry | undefined {
    const seq = seqIn(this.shown.uids, uid);
    return seq === 0 ? undefined : this.shown.get(seq - 1);
  }
  has(uid: number): boolean {
    return seqIn(this.shown.uids, uid) !== 0;
  }
  /** The UID's position in `shown`'s columns, or -1: read what is needed there, without an entry. */
  positionOf(uid: number): number {
    return seqIn(this.shown.uids, uid) - 1;
  }
  *values(): IterableIterator<MailEntry> {
    for (let i = 0; i < this.shown.size; i++) yield this.shown.get(i);
  }
  *[Symbol.iterator](): IterableIterator<[number, MailEntry]> {
    for (let i = 0; i < this.shown.size; i++) yield [this.shown.uids[i]!, this.shown.get(i)];
  }
}

/** Lookups by id over the shown messages (a hash table of positions, shownMessages.ts). */
export class ShownById {
  constructor(private readonly shown: ShownMessages) {}
  get size(): number {
    return this.shown.size;
  }
  get(id: string): MailEntry | undefined {
    const at = this.shown.indexOfId(id);
    return at < 0 ? undefined : this.shown.get(at);
  }
  has(id: string): boolean {
    return this.shown.indexOfId(id) >= 0;
  }
  /** In UID order. */
  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.shown.size; i++) yield this.shown.idAt(i);
  }
  /** In UID order. */
  *values(): IterableIterator<MailEntry> {
    for (let i = 0; i < this.shown.size; i++) yield this.shown.get(i);
  }
  *[Symbol.iterator](): IterableIterator<[string, MailEntry]> {
    for (let i = 0; i < this.shown.size; i++) yield [this.shown.idAt(i), this.shown.get(i)];
  }
}

export type FlagMode = "add" | "remove" | "set";

export type UidOp =
  | { t: "add"; id: string; guessUid: number; flags: string[] }
  | { t: "renumber"; id: string; uid: number }
  | { t: "flags"; ids: string[]; mode: FlagMode; flags: string[] }
  | { t: "expunge"; ids: string[] }
  /** New MODSEQs for what a late op changed below a HIGHESTMODSEQ already shown (lateChanges). */
  | { t: "touch"; ids: string[]; uids: number[] }
  /** UIDs from..to claimed for no message: burned; a message shown at one waits (placementOps). */
  | { t: "burn"; from: number; to: number };

export function emptyUidIndex(uidvalidity: number): UidIndex {
  const shown = new ShownMessages();
  return {
    uidvalidity,
    uidnext: 1,
    highestModseq: 1,
    shown,
    byId: new ShownById(shown),
    uids: shown.uids,
    byUid: new ShownByUid(shown),
    unplaced: new Map(),
    vanished: [],
    vanishedUids: new Set(),
  };
}

/** MODSEQ floors count from here, 2,048 a millisecond: 139 years stay below 2^53. */
const MODSEQ_EPOCH_MS = Date.UTC(2024, 0, 1);
const MODSEQ_PER_MS = 2048;

/**
 * The lowest MODSEQ an op takes, from its row's timestamp: the time, and 11 of its random bits, so
 * that ops of one millisecond rarely share a floor (a shared floor makes MODSEQs follow apply order).
 */
export function modseqFloor(ts: string): number {
  const slot = parseInt(ts.slice(12, 15), 16) >> 1;
  return Math.max(0, timestampMs(ts) - MODSEQ_EPOCH_MS) * MODSEQ_PER_MS + (Number.isNaN(slot) ? 0 : slot);
}

/**
 * Applies one op. `at` is the timestamp of the op's row: the ops of one row share one MODSEQ, at
 * least the row's floor. Without it every op takes a MODSEQ of its own, one above the last.
 */
export function applyUidOp(state: UidIndex, op: UidOp, at?: string): UidIndex {
  const next = new ModseqOnce(state, at);
  switch (op.t) {
    case "add":
      claim(state, op.id, op.guessUid, op.flags, next, at === undefined ? undefined : timestampMs(at));
      return state;
    case "renumber":
      claim(state, op.id, op.uid, undefined, next);
      return state;
    case "flags":
      return applyFlags(state, op.ids, op.mode, op.flags, next);
    case "expunge":
      return applyExpunge(state, op.ids, next);
    case "touch":
      return applyTouch(state, op.ids, op.uids, next);
    case "burn":
      if (!(Number.isInteger(op.from) && op.from >= 1 && op.from <= op.to && op.to - op.from < PLACE_ALIGN)) {
        throw new Error(`a burn of UIDs ${op.from}:${op.to} is not one placementOps writes`);
      }
      // A claim by a message that never exists: the clash rule treats it like any other claim.
      for (let uid = op.from; uid <= op.to; uid++) claim(state, NO_MESSAGE, uid, undefined, next);
      return state;
  }
}

/** No message has this id (ids are hex): the claimant of burned UIDs. */
const NO_MESSAGE = "";

/**
 * Fresh claims for unplaced messages start at a multiple of this at or above UIDNEXT, and the UIDs
 * below it are burned (placementOps).
 */
export const PLACE_ALIGN = 32;

/**
 * The ops that give unplaced messages fresh claims (Mailbox.settle): renumbers from the first
 * multiple of PLACE_ALIGN at or above UIDNEXT, oldest claim first (the same order on every
 * computer), and a burn of the UIDs from UIDNEXT up to there.
 *
 * Two computers that see one clash usually renumber at once. Claiming from UIDNEXT itself, two
 * UIDNEXTs one apart (one of them had applied an add the other had not) gave the same messages two
 * blocks shifted by one: every UID of the overlap named two messages, was burned, and all of them
 * waited for a renumber again (traced in uidClash.test.ts: up to four renumberings). From an
 * aligned start both claim the same UIDs, which is no clash. The burn keeps every UID below
 * UIDNEXT claimed, so a UID shown later is always above every UID shown before (an add guessed
 * into the gap by a computer that had not seen this op waits, as on any burned UID).
 */
export function placementOps(state: UidIndex): UidOp[] {
  if (state.unplaced.size === 0) return [];
  const waiting = [...state.unplaced.values()].sort((a, b) => a.uid - b.uid || (a.id < b.id ? -1 : 1));
  const from = state.uidnext;
  const base = Math.ceil(from / PLACE_ALIGN) * PLACE_ALIGN;
  const burn: UidOp[] = base > from ? [{ t: "burn", from, to: base - 1 }] : [];
  return [...burn, ...waiting.map((e, i): UidOp => ({ t: "renumber", id: e.id, uid: base + i }))];
}

/** The MODSEQ the row last applied to a state took: the next op of that row shares it. */
const rowModseq = new WeakMap<UidIndex, { at: string; modseq: number }>();

/**
 * One MODSEQ per row, taken only if the row changes something (RFC 7162 §3.1 lets messages changed
 * together share it). Not one per op: a row of 3 adds would count up from its floor and could reach
 * the floor of the next row, and then MODSEQs would follow the apply order again.
 */
class ModseqOnce {
  private value: number | undefined;
  constructor(
    private readonly state: UidIndex,
    private readonly at: string | undefined,
  ) {}

  get(): number {
    if (this.value !== undefined) return this.value;
    const row = this.at === undefined ? undefined : rowModseq.get(this.state);
    if (row !== undefined && row.at === this.at && row.modseq === this.state.highestModseq) {
      this.value = row.modseq;
      return this.value;
    }
    const floor = this.at === undefined ? 0 : modseqFloor(this.at);
    this.value = Math.max(this.state.highestModseq + 1, floor);
    this.state.highestModseq = this.value;
    if (this.at !== undefined) rowModseq.set(this.state, { at: this.at, modseq: this.value });
    return this.value;
  }
}

/** Whether `id` is in this mailbox, shown or unplaced. */
export function holdsMessage(state: UidIndex, id: string): boolean {
  return state.shown.indexOfId(id) >= 0 || state.unplaced.has(id);
}

/**
 * `id` claims `uid`. `flags` is given for an add: a claim from an add of an unknown id brings the
 * message in; a renumber of an unknown id (expunged meanwhile) only uses the number up.
 */
function claim(
  state: UidIndex,
  id: string,
  uid: number,
  flags: string[] | undefined,
  modseq: ModseqOnce,
  saved?: number,
): void {
  if (uid > state.uidnext - 1) state.uidnext = uid + 1;
  const shown = state.shown;
  const holderAt = seqIn(shown.uids, uid) - 1;
  if (holderAt >= 0 && shown.idAt(holderAt) === id) {
    // The same claim again (two computers renumbered alike, or a retried push). It still names
    // the message: MODSEQ comes from the last op that does, whatever order they arrive in.
    shown.setModseq(holderAt, modseq.get());
    return;
  }
  if (holderAt >= 0) {
    // Two messages claimed one UID: it is burned, and the holder waits for a fresh one.
    const holder = shown.get(holderAt);
    holder.modseq = hide(state, holderAt, modseq);
    state.unplaced.set(holder.id, holder);
  }
  // Whether this claim may be shown, unless the claimant has a higher one.
  const free = holderAt < 0 && !state.vanishedUids.has(uid);
  const shownAt = shown.indexOfId(id);
  const entry = shownAt >= 0 ? shown.get(shownAt) : state.unplaced.get(id);
  if (!entry) {
    if (flags === undefined) {
      if (free) addVanished(state, uid, modseq.get());
      return;
    }
    const added: MailEntry = { id, uid, modseq: modseq.get(), flags: internFlags(normalizeFlags(flags)) };
    if (saved !== undefined && Number.isFinite(saved)) added.saved = saved;
    if (free) show(state, added);
    else state.unplaced.set(id, added);
    return;
  }
  if (uid <= entry.uid) {
    // Below the message's highest claim: dead, but nobody else may have it either.
    if (free && uid !== entry.uid) addVanished(state, uid, modseq.get());
    if (shownAt >= 0) shown.setModseq(shownAt, modseq.get());
    else entry.modseq = modseq.get();
    return;
  }
  if (shownAt >= 0) hide(state, shownAt, modseq);
  else state.unplaced.delete(id);
  entry.uid = uid;
  entry.modseq = modseq.get();
  if (free) show(state, entry);
  else state.unplaced.set(id, entry);
}

/** Takes the shown message at position `at` out of sight; its UID vanishes. Its MODSEQ now. */
function hide(state: UidIndex, at: number, modseq: ModseqOnce): number {
  const uid = state.shown.uids[at]!;
  state.shown.removeAt(at);
  const value = modseq.get();
  addVanished(state, uid, value);
  return value;
}

function addVanished(state: UidIndex, uid: number, modseq: number): void {
  state.vanished.push({ uid, modseq });
  state.vanishedUids.add(uid);
}

/** Shows an entry at its UID, which no shown entry holds. */
function show(state: UidIndex, entry: MailEntry): void {
  const uids = state.shown.uids;
  const last = uids[uids.length - 1];
  if (last === undefined || entry.uid > last) {
    appendEntry(state, entry);
    return;
  }
  // A claim below a shown UID (claims can reach the replay out of UID order): keep `uids` sorted.
  let lo = 0;
  let hi = uids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (uids[mid]! < entry.uid) lo = mid + 1;
    else hi = mid;
  }
  state.shown.insert(lo, entry);
}

/** Adds an entry whose UID is above every UID in `state` (so `uids` stays sorted). */
export function appendEntry(state: UidIndex, entry: MailEntry): void {
  state.shown.insert(state.shown.size, entry);
}

/**
 * Every message the op names gets its MODSEQ, even one whose flags it leaves as they are: in another
 * order (a late op) the same op may be the one that changes them, and a message's MODSEQ must come
 * from the last op that names it, or it could go back. Writers name only the messages their change
 * changes (Mailbox.setFlags), so this costs nothing in the usual case.
 */
function applyFlags(
  state: UidIndex,
  ids: string[],
  mode: FlagMode,
  flags: string[],
  modseq: ModseqOnce,
): UidIndex {
  for (const id of ids) {
    const at = state.shown.indexOfId(id);
    const entry = at >= 0 ? undefined : state.unplaced.get(id);
    if (at < 0 && !entry) continue; // expunged meanwhile
    const current = at >= 0 ? state.shown.flagsAt(at) : entry!.flags;
    const next = changeFlags(current as string[], mode, flags);
    if (next.length !== current.length || next.some((f, i) => f !== current[i])) {
      if (at >= 0) state.shown.setFlags(at, internFlags(next));
      else entry!.flags = internFlags(next);
    }
    if (at >= 0) state.shown.setModseq(at, modseq.get());
    else entry!.modseq = modseq.get();
  }
  return state;
}

function applyExpunge(state: UidIndex, ids: string[], modseq: ModseqOnce): UidIndex {
  const gone = new Set<number>();
  for (const id of ids) {
    if (state.unplaced.delete(id)) continue; // its UID has vanished already
    const at = state.shown.indexOfId(id);
    if (at >= 0) gone.add(state.shown.uids[at]!);
  }
  if (gone.size === 0) return state;
  const value = modseq.get();
  state.shown.retain((uid) => !gone.has(uid));
  for (const uid of [...gone].sort((a, b) => a - b)) addVanished(state, uid, value);
  return state;
}

function applyTouch(state: UidIndex, ids: string[], uids: number[], modseq: ModseqOnce): UidIndex {
  for (const id of ids) {
    const at = state.shown.indexOfId(id);
    if (at >= 0) state.shown.setModseq(at, modseq.get());
    else {
      const entry = state.unplaced.get(id);
      if (entry) entry.modseq = modseq.get();
    }
  }
  const again = new Set(uids.filter((uid) => state.vanishedUids.has(uid)));
  if (again.size === 0) return state;
  // One record per UID: the older one goes (the list stays in MODSEQ order).
  const value = modseq.get();
  state.vanished = state.vanished.filter((v) => !again.has(v.uid));
  for (const uid of [...again].sort((a, b) => a - b)) state.vanished.push({ uid, modseq: value });
  return state;
}

/**
 * What `after` (a replay rebuilt because a late op arrived, or a checkpoint moved one) holds
 * differently from `before` at a MODSEQ at or below `before`'s HIGHESTMODSEQ: a CONDSTORE or QRESYNC
 * client that synced at that HIGHESTMODSEQ would never ask for it. The ids of messages new, changed
 * or with another MODSEQ, and the UIDs whose VANISHED record moved; a "touch" op naming them gives
 * them MODSEQs above it. Op MODSEQs come from op times (their floor), so a late op's land below what
 * was shown; only this computer knows what it showed, so it writes the op, and every computer
 * replays it alike.
 */
export function lateChanges(before: UidIndex, after: UidIndex): { ids: string[]; uids: number[] } {
  const highest = before.highestModseq;
  const ids: string[] = [];
  // By position, reading the MODSEQ column first: an entry is only made for what the test keeps
  // (a mailbox's first sync compares 10,000 messages with none, all of them above `highest`).
  const shown = after.shown;
  for (const i of shown.positionsUpTo(highest)) {
    const e = shown.get(i);
    const was = before.byUid.get(e.uid);
    if (!was || was.id !== e.id || was.modseq !== e.modseq || !sameFlagList(was.flags, e.flags)) {
      ids.push(e.id);
    }
  }
  const vanishedBefore = lastVanished(before);
  const uids: number[] = [];
  for (const [uid, modseq] of lastVanished(after)) {
    if (modseq <= highest && vanishedBefore.get(uid) !== modseq) uids.push(uid);
  }
  return { ids, uids };
}

/** Each vanished UID's last record's MODSEQ. */
function lastVanished(state: UidIndex): Map<number, number> {
  const last = new Map<number, number>();
  for (const v of state.vanished) last.set(v.uid, v.modseq);
  return last;
}

const shared = new Map<string, readonly string[]>();
const MAX_SHARED = 4096;

/**
 * One frozen array per distinct flag list: 100,000 messages hold a handful of lists between them,
 * not 100,000 arrays. Nothing changes an entry's flags in place (applyFlags replaces them).
 */
export function internFlags(flags: string[]): string[] {
  const key = flagListKey(flags);
  const known = shared.get(key);
  if (known) return known as string[];
  if (shared.size >= MAX_SHARED) return flags;
  shared.set(key, Object.freeze(flags));
  return flags;
}

/**
 * The normal forms of recent flag lists, by their text: a replay of an import's ops normalizes a
 * list per message, nearly all of them a few alike. Bounded: cleared past 256 lists.
 */
const normalized = new Map<string, readonly string[]>();

/** Flags are kept sorted and unique; system flags keep their RFC 3501 spelling. */
export function normalizeFlags(flags: string[]): string[] {
  if (flags.length === 0) return [];
  const key = flags.join("\0");
  const known = normalized.get(key);
  if (known) return [...known];
  const out = normalizeFlagsNow(flags);
  if (normalized.size >= 256) normalized.clear();
  normalized.set(key, out.slice());
  return out;
}

function normalizeFlagsNow(flags: string[]): string[] {
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
  return seqIn(state.uids, uid);
}

function seqIn(uids: readonly number[], uid: number): number {
  let hi = uids.length - 1;
  // Above the highest (every message a replay or an APPEND adds): no search.
  if (hi < 0 || uid > uids[hi]!) return 0;
  let lo = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = uids[mid]!;
    if (v === uid) return mid + 1;
    if (v < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

const opEncoder = new TextEncoder();
const opDecoder = new TextDecoder();

export function encodeUidOp(op: UidOp): Uint8Array {
  return opEncoder.encode(JSON.stringify(op));
}

export function decodeUidOp(bytes: Uint8Array): UidOp {
  const op = JSON.parse(opDecoder.decode(bytes)) as UidOp;
  if (!["add", "renumber", "flags", "expunge", "touch", "burn"].includes(op.t)) {
    throw new Error(`unknown UidIndex op "${String((op as { t: unknown }).t)}"`);
  }
  return op;
}
