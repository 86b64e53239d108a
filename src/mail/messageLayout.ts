/**
 * Where a message lives in storage (DESIGN.md §4): its sealed meta in row `meta`/<mailId> and its
 * sealed body in blob `mail/<mailId>`. Both are written once and only ever deleted afterwards.
 */
export const META_PK = "meta";
export const BODY_PREFIX = "mail/";

export function bodyBlobKey(mailId: string): string {
  return `${BODY_PREFIX}${mailId}`;
}

/**
 * What the local cache may keep (storage/cache/cachePolicy.ts): only what never changes once
 * written. Index ops, checkpoints, watch rows, the mailbox list, `incoming/` and `keys/root` change,
 * so they are never cached. The one exception, a rekey re-sealing meta rows in place, is met when a
 * copy is opened: messageStore.ts reads a row under a dropped key epoch again from storage.
 */
export const CACHEABLE = { rowPartitions: [META_PK], blobPrefixes: [BODY_PREFIX] } as const;
