/**
 * Bayou checkpoints at rest: blob `<path>/checkpoint/<upTo>-<gen><random>`, sealed, holding a small
 * JSON header (upTo, gen, folded) and the encoded state.
 *
 * The key orders checkpoints: by upTo first, then by generation (one more than the base it was
 * built on), so a checkpoint always sorts after its own base even when its writer's clock is behind
 * and it folded only late ops. The random tail keeps two concurrent writers from colliding.
 *
 * Each checkpoint names the one it was built on (its key and a SHA-256 of its sealed bytes), so a
 * reader can walk back the chain and find which checkpoint folded a row that has since gone
 * (rollbackCheck.ts). Checkpoints written before the link existed read with `parent` undefined.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, sealParts, type SealContext, type SealKey } from "../crypto/aead.ts";

/**
 * The state is kept encoded: decoded only to rebuild or to fold a new checkpoint. A decoded UidIndex
 * of 100,000 messages is tens of MB; its encoding a few, and rebuilds are rare.
 */
export interface Checkpoint {
  key: string;
  /** Every op row with ts <= upTo that was not folded is a late op. */
  upTo: string;
  gen: number;
  /**
   * The op rows folded into the state that were still in storage when it was written. A reader skips
   * exactly these; a row folded long ago and since deleted need not be listed.
   */
  folded: Set<string>;
  /** The state, as the machine's encodeState wrote it. */
  encoded: Uint8Array;
  /** The checkpoint it was built on; null when built on none; undefined when not recorded (older builds). */
  parent: CheckpointLink | null | undefined;
  /** SHA-256 (hex) of the sealed bytes, as stored: what a child's `parent.hash` names. */
  hash: string;
}

export interface CheckpointLink {
  key: string;
  hash: string;
}

interface Header {
  upTo: string;
  gen?: number;
  folded: string[];
  parent?: CheckpointLink | null;
}

export function sealedHash(sealed: Uint8Array): string {
  return createHash("sha256").update(sealed).digest("hex");
}

/** The upTo a checkpoint key names (`<prefix><upTo>-<gen><random>`), without opening it. */
export function upToOfKey(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.slice(0, name.indexOf("-"));
}

export function checkpointContext(key: string): SealContext {
  return { purpose: "bayou-checkpoint", path: key };
}

export function checkpointKey(
  prefix: string,
  upTo: string,
  gen: number,
  random: (n: number) => Uint8Array = randomBytes,
): string {
  return `${prefix}${upTo}-${gen.toString(16).padStart(8, "0")}${Buffer.from(random(4)).toString("hex")}`;
}

/**
 * The sealed bytes of a checkpoint, `[u32 header length][header JSON][state]` (its `hash` is theirs:
 * set it with sealedHash).
 */
export function sealCheckpoint(key: SealKey, cp: Omit<Checkpoint, "hash">): Uint8Array {
  const body = cp.encoded;
  const header: Header = {
    upTo: cp.upTo,
    gen: cp.gen,
    folded: [...cp.folded].sort(),
    parent: cp.parent ?? null,
  };
  const head = new TextEncoder().encode(JSON.stringify(header));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, head.length);
  // Sealed from its parts: the state (~5 MB at 100,000 messages) is copied once, into the object.
  return sealParts(key, [length, head, body], checkpointContext(cp.key));
}

export function openCheckpoint(key: SealKey, blobKey: string, sealed: Uint8Array): Checkpoint {
  const plain = open(key, sealed, checkpointContext(blobKey));
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const headLength = view.getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(plain.subarray(4, 4 + headLength))) as Header;
  return {
    key: blobKey,
    upTo: header.upTo,
    gen: header.gen ?? 0,
    folded: new Set(header.folded),
    encoded: plain.subarray(4 + headLength),
    parent: header.parent === null ? null : header.parent ? { ...header.parent } : undefined,
    hash: sealedHash(sealed),
  };
}
