/**
 * Did storage go backwards behind a mark (witness.ts)? Bayou's rules (bayou.ts) make what honest
 * storage shows grow only, and each check below leans on one of them:
 *
 * - The newest checkpoint key never goes down: puts only add keys, and a clean-up deletes only
 *   keys below the three newest of its listing, never the greatest.
 * - The greatest ts never goes down: a row is deleted only once a checkpoint folds it, and a
 *   checkpoint's upTo is at least every ts it folds.
 * - A row this computer saw is deleted only after a checkpoint F folded it, and then every newer
 *   checkpoint descends from F (rule 5). F lists it in `folded` (it read the row), so does every
 *   checkpoint built on F while the row was there, and every checkpoint's upTo is at least its
 *   ancestors'. So walking back from the newest checkpoint through the parents it names, the row
 *   is found in a `folded`, or it is above the upTo of a checkpoint whose ancestors can then not
 *   have folded it, or the walk reaches the first checkpoint: tampering. A parent already cleaned
 *   up ends the walk: below its upTo a row may have been folded and deleted unseen (nothing can be
 *   said of those: a dropped late op hides there), above it is tampering.
 *
 * The walk does not stop at the checkpoint the mark names: a row listed just before a checkpoint
 * built after its deletion looks unfolded by it, though an ancestor folded it.
 */
import { upToOfKey, sealedHash, type Checkpoint, type CheckpointLink } from "./checkpoint.ts";
import type { SyncMark } from "./witness.ts";

/** A bound on the walk back; honest storage keeps three checkpoints and a few concurrent ones. */
const MAX_WALK = 64;

export interface CheckpointReader {
  /** The sealed bytes at `key`, or null when it is gone. */
  get(key: string): Promise<Uint8Array | null>;
  open(key: string, sealed: Uint8Array): Checkpoint;
}

/** What went back, in words, or undefined when storage is at or past the mark. */
export async function findRegression(
  mark: SyncMark,
  rows: ReadonlyMap<string, unknown>,
  newest: Checkpoint | undefined,
  reader: CheckpointReader,
): Promise<string | undefined> {
  const seen = mark.checkpoint;
  if (seen && !newest) return `storage holds no checkpoint, but this computer saw ${name(seen.key)}`;
  if (seen && newest && newest.key < seen.key) {
    return `its newest checkpoint is ${name(newest.key)}, older than ${name(seen.key)} that this computer saw`;
  }
  if (seen && newest && newest.key === seen.key && newest.hash !== seen.hash) {
    return `checkpoint ${name(seen.key)} is not the one this computer saw`;
  }
  const vanished = mark.unfolded.filter((ts) => !rows.has(ts));
  const lost = vanished.length === 0 ? [] : newest ? await unaccounted(vanished, newest, reader) : vanished;
  if (typeof lost === "string") return lost;
  if (lost.length === 0) return newestRegression(mark, rows, newest);
  return `op row${lost.length > 1 ? "s" : ""} ${lost.slice(0, 3).join(", ")}${lost.length > 3 ? ` and ${lost.length - 3} more` : ""} vanished without a checkpoint folding ${lost.length > 1 ? "them" : "it"}`;
}

/** The greatest ts there, against the one marked. */
function newestRegression(
  mark: SyncMark,
  rows: ReadonlyMap<string, unknown>,
  newest: Checkpoint | undefined,
): string | undefined {
  if (mark.newestTs === undefined) return undefined;
  let newestTs = newest?.upTo;
  for (const ts of rows.keys()) if (newestTs === undefined || ts > newestTs) newestTs = ts;
  if (newestTs !== undefined && newestTs >= mark.newestTs) return undefined;
  return `its newest op is older than ${mark.newestTs}, which this computer applied`;
}

/** The vanished rows no checkpoint of `newest`'s chain can have folded, or what broke the chain. */
async function unaccounted(
  vanished: string[],
  newest: Checkpoint,
  reader: CheckpointReader,
): Promise<string[] | string> {
  const lost: string[] = [];
  let remaining = vanished;
  let cp = newest;
  for (let hops = 0; ; hops++) {
    remaining = remaining.filter((ts) => !cp.folded.has(ts));
    lost.push(...above(remaining, cp.upTo));
    remaining = remaining.filter((ts) => ts <= cp.upTo);
    if (remaining.length === 0) return lost;
    const parent: CheckpointLink | null | undefined = cp.parent;
    if (parent === null) return [...lost, ...remaining]; // the first checkpoint: the whole chain was read
    if (parent === undefined || hops >= MAX_WALK) return lost; // an older build named no parent
    const sealed = await reader.get(parent.key);
    if (!sealed) return [...lost, ...above(remaining, upToOfKey(parent.key))]; // cleaned up
    if (sealedHash(sealed) !== parent.hash) {
      return `checkpoint ${name(parent.key)} is not the one ${name(cp.key)} was built on`;
    }
    cp = reader.open(parent.key, sealed);
  }
}

/** Rows above `upTo`: no checkpoint at or before the one with that upTo folded them. */
function above(rows: string[], upTo: string): string[] {
  return rows.filter((ts) => ts > upTo);
}

function name(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
