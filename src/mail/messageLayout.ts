import { sealedSize } from "../crypto/chunkedStream.ts";

/**
 * Where a message lives in storage (DESIGN.md §4): its sealed meta in row `meta`/<mailId> and its
 * sealed body in blob `mail/<mailId>`, or, on a store whose rows take large values (Garage's K2V:
 * Store.largeRowBytes), in row `body`/<mailId> when it is small (issue 11: the body then rides in
 * the APPEND's one InsertBatch; docs/architecture.md, "Writes: one round trip"). The sealed meta
 * says which (`inRow`). All are written once and only ever deleted afterwards.
 */
export const META_PK = "meta";
export const BODY_PREFIX = "mail/";
/** Body rows: a partition of their own, never read by the header list or the list segments. */
export const BODY_ROW_PK = "body";
/**
 * Sealed bodies up to this size go to a body row where the store allows it: those of the 64 KiB
 * padding bucket and below (65,585 B sealed). Garage's K2V takes items of up to ~1 MiB; at 62,000 B
 * an InsertBatch with the body cost Garage ~1 ms of CPU against ~2.3 ms for PUT + InsertBatch
 * (bench/notes.md, wt-inline session 17). A row is read whole and a ReadBatch holds many: larger
 * bodies stay blobs, read by range.
 */
export const BODY_ROW_MAX = sealedSize(64 * 1024);
/**
 * Body rows asked for in one ReadBatch: at most BODY_ROW_MAX each, so an answer stays under ~3 MiB
 * and none waits long behind the others.
 */
export const BODY_ROWS_PER_READ = 48;

export function bodyBlobKey(mailId: string): string {
  return `${BODY_PREFIX}${mailId}`;
}

/** The id a body's name holds: the row `body`/<id> or the blob `mail/<id>` of this copy. */
export function bodyId(blob: string): string {
  return blob.slice(BODY_PREFIX.length);
}

/**
 * What the local cache may keep (storage/cache/cachePolicy.ts): only what never changes once
 * written. Index ops, checkpoints, watch rows, the mailbox list, `incoming/` and `keys/root` change,
 * so they are never cached. The one exception, a rekey re-sealing meta rows in place, is met when a
 * copy is opened: messageStore.ts reads a row under a dropped key epoch again from storage. Body
 * rows are sealed with the message's own key, which a rekey does not change; up to 64 KiB each,
 * they count against the cache's byte budget with the body blobs (issue 11).
 */
export const CACHEABLE = {
  rowPartitions: [META_PK],
  budgetedRowPartitions: [BODY_ROW_PK],
  blobPrefixes: [BODY_PREFIX],
} as const;
