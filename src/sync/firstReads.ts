/**
 * The storage reads of a replica's first sync (bayou.ts rule 2), started by themselves: the watch,
 * then every op row once the watch has answered, then the checkpoint listing once the rows have;
 * beside the watch, the newest checkpoint as listed then and its bytes (adopted only when the
 * listing after the rows names it). None of them needs a key.
 *
 * Bayou's first sync makes them through `readFirstSync`. A caller who knows a path before it has
 * the key may start them earlier (issue 11: INBOX's first sync beside LOGIN's Argon2id) and hand
 * them to the replica (BayouOptions.firstReads): what they give is then what storage held at a
 * moment during that wait, read in rule 2's order, so a consistent state, decrypted, verified and
 * checked against the witness as any first sync's. What changed after that moment reaches the
 * replica at its next sync, through the watch.
 */
import type { BlobStore, RowEntry, RowStore, Store } from "../storage/types.ts";
import { isTimestamp } from "./timestamp.ts";

/** Every ts is lower-case hex, so every op row sorts before "g"; the "watch" row after it. */
export const OP_END = "g";
export const WATCH = "watch";

export interface FirstReads {
  /** The path read (`index/<mailboxId>`): a replica takes only reads of its own path. */
  readonly path: string;
  /** When the reads started (performance.now()): how old the state they give may be. */
  readonly startedAt: number;
  readonly watch: Promise<RowEntry | null>;
  /** The op rows (sk a timestamp), read after the watch answered. */
  readonly rows: Promise<RowEntry[]>;
  /** The checkpoints' keys in order, listed after the rows answered (rule 2). */
  readonly listing: Promise<string[]>;
  /** The newest checkpoint as listed beside the watch, with its bytes; never rejects. */
  readonly early: Promise<{ key: string; sealed: Uint8Array | null } | undefined>;
}

/** Starts a first sync's reads of `path`, in rule 2's order. Nothing rejects unhandled. */
export function readFirstSync(store: Store, path: string): FirstReads {
  const prefix = checkpointPrefix(path);
  const early = (async () => {
    const key = (await listCheckpointKeys(store.blobs, prefix)).pop();
    return key === undefined ? undefined : { key, sealed: await store.blobs.get(key) };
  })().catch(() => undefined); // an early fetch that fails is only no help
  const startedAt = performance.now();
  const watch = store.rows.read(path, WATCH);
  const rows = watch.then(() => readOpRows(store.rows, path));
  const listing = rows.then(() => listCheckpointKeys(store.blobs, prefix));
  // Whoever takes them awaits them and meets their errors; reads nobody takes fail quietly.
  for (const p of [watch, rows, listing]) p.catch(() => undefined);
  return { path, startedAt, watch, rows, listing, early };
}

export function checkpointPrefix(path: string): string {
  return `${path}/checkpoint/`;
}

/** Every op row of `path` in storage, in ts order. */
export async function readOpRows(rows: RowStore, path: string): Promise<RowEntry[]> {
  const out: RowEntry[] = [];
  let start: string | undefined;
  do {
    const page = await rows.readRange(path, { start, end: OP_END, limit: 1000 });
    for (const row of page.items) if (isTimestamp(row.sk)) out.push(row);
    start = page.nextStart;
  } while (start);
  return out;
}

/** The keys under `prefix`, in order (a checkpoint's key sorts by generation: the last is the newest). */
export async function listCheckpointKeys(blobs: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let startAfter: string | undefined;
  do {
    const page = await blobs.list(prefix, startAfter, 1000);
    keys.push(...page.keys);
    startAfter = page.nextStartAfter;
  } while (startAfter);
  return keys;
}
