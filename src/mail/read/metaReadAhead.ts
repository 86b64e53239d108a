/**
 * Meta of a long list of messages, batch by batch, with the next batch's read already running
 * while the caller works on the current one: on a remote store the round trip then overlaps the
 * work (writing replies, matching a SEARCH) instead of adding to it.
 */
import type { MessageMeta } from "../metaCodec.ts";
import type { MessageStore } from "../messageStore.ts";
import { seqOfUid, type MailEntry, type UidIndex } from "../uidIndex.ts";

export interface MetaReadAhead<T = MessageMeta> {
  /** The meta of ids [from, from + batch); call with from = 0, batch, 2 * batch, ... in order. */
  batch(from: number): Promise<Map<string, T>>;
  /** The read already running for the batch at `from` (the one after the last asked for), if any. */
  ahead(from: number): Promise<Map<string, T>> | undefined;
}

/**
 * `ids` may hold "" where a position has no message (an expunge the view still shows): skipped.
 * `readIds` reads a batch: the meta by default, or less (MessageStore.listFacts).
 */
export function metaReadAhead<T = MessageMeta>(
  messages: MessageStore,
  ids: readonly string[],
  size: number,
  readIds: (ids: string[]) => Promise<Map<string, T>> = (batch) =>
    messages.getMeta(batch) as Promise<Map<string, T>>,
): MetaReadAhead<T> {
  const read = (from: number) => readIds(ids.slice(from, from + size).filter((id) => id !== ""));
  const start = (from: number) => {
    if (from >= ids.length) return undefined;
    const reading = read(from);
    reading.catch(() => {}); // awaited by batch(); a caller that stops early must not leave it unhandled
    return { from, reading };
  };
  let next = start(0);
  return {
    batch(from) {
      const current = next?.from === from ? next.reading : read(from);
      next = start(from + size);
      return current;
    },
    ahead: (from) => (next?.from === from ? next.reading : undefined),
  };
}

/**
 * After a message-list FETCH (sizes, header fields) from `first` to `last`, starts reading the meta
 * of the messages the client is likely to ask for next: the `count` after the last UID it fetched
 * (clients walk their list in chunks), or the `count` before the first when those are read already.
 * Not awaited.
 */
export function prefetchFollowing(
  messages: MessageStore,
  index: UidIndex,
  first: MailEntry,
  last: MailEntry,
  count: number,
  prefetch: (ids: string[]) => boolean = (ids) => messages.prefetchMeta(ids),
): void {
  const after = seqOfUid(index, last.uid); // 1-based: the next one is at position `after`
  const before = seqOfUid(index, first.uid) - 1;
  // By position, the id alone: an entry per message (its flags, its id's string, a search for its
  // UID) was made for each of the 10,000 ids of a first header list, inside it (bench/notes.md,
  // wt-coldquiet).
  const idsOf = (from: number, to: number) => {
    const ids: string[] = [];
    for (let i = from; i < to && i < index.shown.size; i++) ids.push(index.shown.idAt(i));
    return ids;
  };
  // Forward first; a client walking backwards finds those read already, and gets the ones before.
  if (after > 0 && prefetch(idsOf(after, after + count))) return;
  if (before > 0) prefetch(idsOf(Math.max(0, before - count), before));
}
