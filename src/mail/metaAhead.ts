/**
 * A mailbox's meta rows, read into the local cache as soon as a client first opens the mailbox on
 * this computer (issue 11, "a second computer"). A client's first sync lists every message's
 * headers in chunks (Thunderbird's and the bench's: 200 per UID FETCH, oldest first), and each
 * chunk's meta used to be read one round trip at a time, 500 ahead of the client: at 10,000
 * messages, 50 chunks each waiting on part of a round trip. Here the rows go out at once, several
 * batches in flight, in the order the client lists them; the client's reads find them cached or
 * join the reads in flight (storage/cache/cachedRows.ts), so no row is read twice.
 *
 * Like the newest bodies (newestBodies.ts), it does not wait for a lull in client work: it is the
 * client's own next request, started early. Only sealed rows are fetched and kept, as any read
 * through the cache keeps them; they are opened, and so authenticated, when a client reads them.
 * Rows the cache holds already are skipped without reading them (LocalCache.uncachedRows).
 */
import type { Log } from "../log.ts";
import type { LocalCache, RowStore } from "../storage/types.ts";
import { META_PK } from "./messageLayout.ts";
import type { UidIndex } from "./uidIndex.ts";

/** Rows per read: one K2V ReadBatch (storage/garage/k2vRowStore.ts splits larger ones anyway). */
export const META_AHEAD_BATCH = 200;

/**
 * Reads in flight: 4 for a near host, up to 8 for a far one (the store's read pool follows the
 * round trip: 16 calls up to 40 ms, 40 at 100 ms). K2V's pool is 16; the client's own calls keep
 * the rest. Each read holds ~1 MB of answer at 200 rows.
 */
export function metaAheadLanes(readParallelism: number | undefined): number {
  return Math.min(8, Math.max(4, Math.ceil((readParallelism ?? 16) / 5)));
}

export interface MetaAheadSource {
  rows: Pick<RowStore, "readBatch">;
  cache: Pick<LocalCache, "usable" | "uncachedRows" | "roomFor">;
  /** Store.readParallelism: how far the host is. */
  readParallelism?(): number;
  /**
   * Of these ids, those whose list facts this computer lacks, once the list view's fill from the
   * bucket is done (sharedListView.ts): the others are listed from their segment, and their meta
   * rows are left to the cache fill's pass (a second computer's header list is CPU-bound; reading
   * 10,000 rows beside it is what the shared segments spare).
   */
  lacking?(ids: string[]): Promise<string[]>;
  log?: Log;
}

/**
 * Reads the meta rows of every message the index shows that the cache lacks, in list order.
 * Resolves with the rows asked for; never rejects (a miss costs the client's own read, nothing
 * more). `stopped` is asked before each batch.
 */
export async function readMetaAhead(
  src: MetaAheadSource,
  index: Pick<UidIndex, "shown">,
  stopped: () => boolean,
): Promise<number> {
  try {
    const { shown } = index;
    if (shown.size === 0 || !src.cache.usable) return 0;
    const ids: string[] = [];
    for (let i = 0; i < shown.size; i++) ids.push(shown.idAt(i));
    const listed = src.lacking ? await src.lacking(ids) : ids;
    const missing = await src.cache.uncachedRows(META_PK, listed);
    const batches: string[][] = [];
    for (let i = 0; i < missing.length; i += META_AHEAD_BATCH)
      batches.push(missing.slice(i, i + META_AHEAD_BATCH));
    const lanes = Math.min(batches.length, metaAheadLanes(src.readParallelism?.()));
    let next = 0;
    const lane = async () => {
      while (next < batches.length && !stopped() && src.cache.usable) {
        // The cache drops copies beyond what it has queued: a batch begins only when the cache
        // has room for every lane's and two batches more (the client's own reads, the newest
        // bodies), so the disk sets the pace and each row read here is kept.
        await src.cache.roomFor((lanes + 2) * META_AHEAD_BATCH);
        if (next >= batches.length || stopped()) return;
        const batch = batches[next++]!;
        await src.rows.readBatch(batch.map((sk) => ({ pk: META_PK, sk })));
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return missing.length;
  } catch (err) {
    src.log?.("debug", `meta not read ahead: ${err instanceof Error ? err.message : String(err)}`);
    return 0;
  }
}
