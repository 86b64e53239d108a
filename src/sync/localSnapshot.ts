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
  /**
   * Keeps the bytes of `parts` joined (encodeSnapshotParts) for `path`, replacing what was there.
   * Parts, so that a keeper that seals them need not join a large state first (issue 11).
   */
  save(path: string, parts: readonly Uint8Array[]): Promise<void>;
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
  const parts = encodeSnapshotParts(snapshot);
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** encodeSnapshot's bytes as parts, the state not copied. */
export function encodeSnapshotParts(snapshot: Snapshot): Uint8Array[] {
  const header = new TextEncoder().encode(
    JSON.stringify({ v: VERSION, baseKey: snapshot.baseKey, applied: snapshot.applied }),
  );
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, header.length);
  return [length, header, snapshot.state];
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
