/**
 * A mailbox's newest bodies, fetched into the local cache as soon as a client first opens the
 * mailbox on this computer, or INBOX's as its opening at login ends (Account.openAhead; issue 11:
 * "bodies on their way before the client asks"). A mail
 * client's first sync of a mailbox is its flags, its header list, then the bodies of the newest
 * messages (Thunderbird's, the bench's 200); on a second computer the header list leaves the link
 * to the host nearly idle, so these reads fill it. The client's FETCH then finds the bodies cached,
 * or joins the read in flight (storage/cache/cachedBlobs.ts): no body is read twice.
 *
 * It does not wait for a lull in client work as the rest of the fill does: it is the client's own
 * next request, started early. Only sealed bytes are fetched and kept, as any read through the
 * cache keeps them; they are opened, and so authenticated, when a client reads them. Bodies kept
 * in rows (`body`/<id>, messageLayout.ts) come many to a ReadBatch.
 */
import type { Log } from "../log.ts";
import type { LocalCache, Store } from "../storage/types.ts";
import { BODY_ROW_PK, BODY_ROWS_PER_READ, bodyId } from "./messageLayout.ts";
import type { BackgroundReads } from "./messageStore.ts";
import { WHOLE_BODY_MAX } from "./read/bodyReader.ts";
import type { UidIndex } from "./uidIndex.ts";

/** Newest messages whose bodies are fetched at the first open: what a client's first sync reads. */
export const NEWEST_MESSAGES = 200;
/** At most this many bytes of them (the bodies FETCH would hold for a batch read ahead). */
export const NEWEST_BYTES = 16 * 1024 * 1024;

export interface NewestBodiesSource {
  store: Pick<Store, "blobs" | "rows">;
  reads: Pick<BackgroundReads, "getMeta" | "readParallelism">;
  cache: Pick<LocalCache, "hasBlob" | "usable" | "maxBlobBytes" | "uncachedRows">;
  log?: Log;
}

/**
 * Fetches the bodies of the index's newest NEWEST_MESSAGES that are not cached (up to NEWEST_BYTES
 * of them; those over WHOLE_BODY_MAX whole and last), newest first, as many at once as the store
 * wants in flight. Resolves when done; never rejects (a miss costs the client's own read, nothing
 * more). `stopped` is asked before each body.
 */
export async function fetchNewestBodies(
  src: NewestBodiesSource,
  index: Pick<UidIndex, "shown">,
  stopped: () => boolean,
): Promise<number> {
  try {
    const ids: string[] = [];
    const { shown } = index;
    for (let i = shown.size - 1; i >= 0 && ids.length < NEWEST_MESSAGES; i--) ids.push(shown.idAt(i));
    if (ids.length === 0 || !src.cache.usable) return 0;
    // The bodies go out as soon as their meta is in, beside the shared list segments' GETs, not
    // after them: at 16 GETs per round trip, 200 bodies take ~13 round trips, longer than a header
    // list (bench/notes.md, wt-cold session 16). The segments' GETs were queued first (the store's
    // pool serves calls in order), so they still lead; the header list waits only for them.
    const metas = await src.reads.getMeta(ids);
    const wanted: string[] = [];
    const large: string[] = [];
    const inRows: string[] = [];
    let bytes = 0;
    const room = Math.min(NEWEST_BYTES, src.cache.maxBlobBytes);
    for (const id of ids) {
      const meta = metas.get(id);
      if (!meta || (!meta.inRow && src.cache.hasBlob(meta.blob))) continue;
      // A large body that does not fit is left to the client's ranged reads; the older small
      // ones still come.
      if (bytes + meta.size > room && meta.size > WHOLE_BODY_MAX) continue;
      if (bytes + meta.size > room) break;
      bytes += meta.size;
      if (meta.inRow) inRows.push(bodyId(meta.blob));
      else if (meta.size > WHOLE_BODY_MAX) large.push(meta.blob);
      else wanted.push(meta.blob);
    }
    const rows = await src.cache.uncachedRows(BODY_ROW_PK, inRows);
    const reads: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < rows.length; i += BODY_ROWS_PER_READ) {
      const some = rows.slice(i, i + BODY_ROWS_PER_READ).map((sk) => ({ pk: BODY_ROW_PK, sk }));
      reads.push(() => src.store.rows.readBatch(some));
    }
    for (const key of wanted) reads.push(() => src.store.blobs.get(key));
    // A body over WHOLE_BODY_MAX is fetched whole too, last: the client's FETCH streams it by
    // ranges, and a range is cut from a cached copy locally, where each 256 KiB piece from the
    // host was a round trip (at 1,000 messages the newest 200 hold one of 3.7 MB and one of 1.8 MB:
    // six round trips of the 200 bodies' step at 20 ms each way, bench/notes.md, wt-cold1k).
    for (const key of large) reads.push(() => src.store.blobs.get(key));
    let next = 0;
    const lane = async () => {
      while (next < reads.length && !stopped()) await reads[next++]!();
    };
    const lanes = Math.min(reads.length, src.reads.readParallelism?.() ?? 4);
    await Promise.all(Array.from({ length: lanes }, lane));
    return wanted.length + large.length + rows.length;
  } catch (err) {
    src.log?.(
      "debug",
      `newest bodies not fetched ahead: ${err instanceof Error ? err.message : String(err)}`,
    );
    return 0;
  }
}
