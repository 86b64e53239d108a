/**
 * Removing an account's data from its bucket (`reset --delete-remote-data`, issue 16): every
 * object and row the account wrote, after listing them by kind. The kinds are those of
 * docs/crypto.md's "What the host learns" table (kept true by whatTheHostLearns.test.ts):
 * bodies `mail/<id>`, checkpoints `index/<mbx>/checkpoint/...`, shared list segments
 * `index/<mbx>/list/<range>`, the incoming queue `incoming/<ts>`,
 * probes `probe/<random>`, the key root `keys/root`; rows `meta`/*, `body`/*, `index/<mbx>`/*,
 * `mailboxes`/*, `incoming`/*. Mailbox ids come from the mailbox list (the reason the account
 * must be open) and from the checkpoints' keys, so a mailbox whose name is gone is found too.
 *
 * The key root goes last: a removal stopped half-way can be run again with the same password.
 * Objects under other prefixes are not the account's: they are counted and left.
 */
import type { Store } from "../storage/types.ts";
import type { Account } from "./account.ts";
import { INCOMING_PREFIX } from "./incoming/deliveryBox.ts";
import { WATCH_PK as INCOMING_PK } from "./incoming/incomingQueue.ts";
import { listSegmentMailbox } from "./listSegments.ts";
import { BODY_PREFIX, BODY_ROW_PK, META_PK } from "./messageLayout.ts";

export const KEY_ROOT = "keys/root";
const INDEX_PREFIX = "index/";
const PROBE_PREFIX = "probe/";
const MAILBOX_LIST_PK = "mailboxes";
const PAGE = 1000;
/** Body rows come with their values (up to 64 KiB each): listed in smaller pages. */
const BODY_ROW_PAGE = 50;

export type RemovalKind =
  | "bodies"
  | "checkpoints"
  | "list segments"
  | "incoming queue"
  | "probes"
  | "meta rows"
  | "body rows"
  | "op rows"
  | "mailbox list rows"
  | "incoming rows"
  | "key root";

export interface RemovalPlan {
  /** Blob keys to delete, the key root (if any) last. */
  blobs: string[];
  /** Row partitions to empty, each with its live sort keys. */
  rows: { pk: string; sks: string[] }[];
  counts: Record<RemovalKind, number>;
  /** Objects under prefixes the account never writes: left in place. */
  foreign: string[];
}

export interface RemovalProgress {
  done: number;
  total: number;
}

function emptyCounts(): Record<RemovalKind, number> {
  return {
    bodies: 0,
    checkpoints: 0,
    "list segments": 0,
    "incoming queue": 0,
    probes: 0,
    "meta rows": 0,
    "body rows": 0,
    "op rows": 0,
    "mailbox list rows": 0,
    "incoming rows": 0,
    "key root": 0,
  };
}

function blobKind(key: string): RemovalKind | null {
  if (key === KEY_ROOT) return "key root";
  if (key.startsWith(BODY_PREFIX)) return "bodies";
  if (key.startsWith(INDEX_PREFIX) && key.includes("/checkpoint/")) return "checkpoints";
  if (listSegmentMailbox(key) !== undefined) return "list segments";
  if (key.startsWith(INCOMING_PREFIX)) return "incoming queue";
  if (key.startsWith(PROBE_PREFIX)) return "probes";
  return null;
}

/** Lists everything of the account in its store; reads only. */
export async function planAccountRemoval(account: Account): Promise<RemovalPlan> {
  const { store } = account;
  const counts = emptyCounts();
  const blobs: string[] = [];
  const foreign: string[] = [];
  const mailboxIds = new Set<string>();
  let hasRoot = false;
  for (const key of await listAllBlobs(store)) {
    const kind = blobKind(key);
    if (!kind) {
      foreign.push(key);
      continue;
    }
    counts[kind]++;
    if (kind === "key root") hasRoot = true;
    else blobs.push(key);
    if (kind === "checkpoints") mailboxIds.add(key.slice(INDEX_PREFIX.length, key.indexOf("/checkpoint/")));
    if (kind === "list segments") mailboxIds.add(listSegmentMailbox(key)!);
  }
  if (hasRoot) blobs.push(KEY_ROOT);

  for (const info of (await account.listMailboxes()).mailboxes) mailboxIds.add(info.id);
  const partitions: [string, RemovalKind][] = [
    [META_PK, "meta rows"],
    [BODY_ROW_PK, "body rows"],
    [MAILBOX_LIST_PK, "mailbox list rows"],
    [INCOMING_PK, "incoming rows"],
    ...[...mailboxIds].sort().map((id): [string, RemovalKind] => [`${INDEX_PREFIX}${id}`, "op rows"]),
  ];
  const rows: RemovalPlan["rows"] = [];
  for (const [pk, kind] of partitions) {
    const sks = await listRowKeys(store, pk, pk === BODY_ROW_PK ? BODY_ROW_PAGE : PAGE);
    if (sks.length === 0) continue;
    counts[kind] += sks.length;
    rows.push({ pk, sks });
  }
  return { blobs, rows, counts, foreign };
}

/** Deletes what the plan lists: rows, then blobs, the key root last. */
export async function removeAccountData(
  store: Store,
  plan: RemovalPlan,
  onProgress: (p: RemovalProgress) => void = () => {},
): Promise<void> {
  const total = plan.rows.reduce((n, r) => n + r.sks.length, 0) + plan.blobs.length;
  let done = 0;
  onProgress({ done, total });
  for (const { pk, sks } of plan.rows) {
    // deleteRange takes rows written since the listing too (an op row of a late writer).
    await store.rows.deleteRange(pk);
    done += sks.length;
    onProgress({ done, total });
  }
  for (const key of plan.blobs) {
    await store.blobs.delete(key);
    done++;
    if (done % 50 === 0 || done === total) onProgress({ done, total });
  }
}

async function listAllBlobs(store: Store): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.blobs.list("", after, PAGE);
    keys.push(...page.keys);
    after = page.nextStartAfter;
  } while (after);
  return keys;
}

async function listRowKeys(store: Store, pk: string, limit: number): Promise<string[]> {
  const sks: string[] = [];
  let start: string | undefined;
  do {
    const page = await store.rows.readRange(pk, { start, limit });
    sks.push(...page.items.map((r) => r.sk));
    start = page.nextStart;
  } while (start);
  return sks;
}
