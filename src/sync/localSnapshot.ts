/**
 * A snapshot of a Bayou state kept on this computer between runs, so that the first sync of a run
 * does not decode and replay every op row its newest checkpoint leaves unfolded (after an import of
 * 10,000 messages: 100 rows of 100 adds, the largest part of the first SELECT). Where and how it is
 * kept (sealed, on the local disk) is the keeper's business; mail/ keeps it beside the cache.
 *
 * A snapshot is the base checkpoint's key, the unfolded op rows applied on top of it (in ts order)
 * and the encoded state they give. It is used only when it is exactly a prefix of what storage
 * holds now: the same base, and its rows the oldest of the unfolded rows in storage. Anything else
 * (a new checkpoint, a late row, a row gone) falls back to the ordinary replay, so a snapshot can
 * make a first sync faster but never change its result: Bayou's replay is deterministic, and op
 * rows never change once written.
 */
export interface SnapshotKeeper {
  /** The bytes last saved for `path`; undefined when none (or they do not open). */
  load(path: string): Promise<Uint8Array | undefined>;
  /** Keeps `bytes` for `path`, replacing what was there. */
  save(path: string, bytes: Uint8Array): Promise<void>;
}

export interface Snapshot {
  baseKey: string | null;
  /** The unfolded rows applied on top of the base, in ts order. */
  applied: string[];
  state: Uint8Array;
}

const VERSION = 1;

/** [u32 length of the header][header JSON {v, baseKey, applied}][encoded state] */
export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ v: VERSION, baseKey: snapshot.baseKey, applied: snapshot.applied }),
  );
  const out = new Uint8Array(4 + header.length + snapshot.state.length);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  out.set(snapshot.state, 4 + header.length);
  return out;
}

/** undefined for bytes that are not a snapshot of this version. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot | undefined {
  if (bytes.length < 4) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + length > bytes.length) return undefined;
  try {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as {
      v?: unknown;
      baseKey?: unknown;
      applied?: unknown;
    };
    if (header.v !== VERSION) return undefined;
    if (header.baseKey !== null && typeof header.baseKey !== "string") return undefined;
    if (!Array.isArray(header.applied) || !header.applied.every((ts): ts is string => typeof ts === "string"))
      return undefined;
    return {
      baseKey: header.baseKey,
      applied: header.applied,
      state: bytes.subarray(4 + length),
    };
  } catch {
    return undefined;
  }
}

/** Whether `snapshot` is the base `baseKey` plus the oldest of `unfolded` (sorted), in order. */
export function snapshotFits(snapshot: Snapshot, baseKey: string | null, unfolded: string[]): boolean {
  if (snapshot.baseKey !== baseKey) return false;
  if (snapshot.applied.length > unfolded.length) return false;
  return snapshot.applied.every((ts, i) => unfolded[i] === ts);
}
