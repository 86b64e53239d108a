/**
 * Meta of a long list of messages, batch by batch, with the next batch's read already running
 * while the caller works on the current one: on a remote store the round trip then overlaps the
 * work (writing replies, matching a SEARCH) instead of adding to it.
 */
import type { MessageMeta, MessageStore } from "../../mail/messageStore.ts";

export interface MetaReadAhead {
  /** The meta of ids [from, from + batch); call with from = 0, batch, 2 * batch, ... in order. */
  batch(from: number): Promise<Map<string, MessageMeta>>;
}

/** `ids` may hold "" where a position has no message (an expunge the view still shows): skipped. */
export function metaReadAhead(messages: MessageStore, ids: readonly string[], size: number): MetaReadAhead {
  const read = (from: number) => messages.getMeta(ids.slice(from, from + size).filter((id) => id !== ""));
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
  };
}
