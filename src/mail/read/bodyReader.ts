/**
 * How FETCH and SEARCH read message bytes: a body up to WHOLE_BODY_MAX is fetched once, whole (one
 * ranged GET for header and chunks), and every later part of it is cut from memory; larger bodies
 * are read by ranges, so they are never held whole.
 */
import type { MessageMeta } from "../metaCodec.ts";
import type { BackgroundReads } from "../messageStore.ts";

/** Reads bytes [start, start+length) of a stored message. */
export type BodyReader = (meta: MessageMeta, start: number, length: number) => Promise<Uint8Array>;

export const WHOLE_BODY_MAX = 1024 * 1024;

export interface CachingBodyReader {
  read: BodyReader;
  /**
   * Fetches the small bodies among `metas`, `parallel` at a time, into the cache; `beforeEach`, when
   * given, is awaited before each fetch (background work waiting for a lull in client work), and
   * the prefetch stops when it resolves to false. Rejects at the first body it cannot read (a FETCH
   * that awaits it answers NO at once); a caller that awaits it only later must catch it at once
   * (indexFiller.ts does), or an unhandled rejection ends the process.
   */
  prefetch(metas: MessageMeta[], parallel: number, beforeEach?: () => Promise<boolean>): Promise<void>;
}

/** `messages`: a MessageStore (client reads) or its `background` reads. */
export function cachingBodyReader(messages: Pick<BackgroundReads, "bodyRange">): CachingBodyReader {
  const whole = new Map<MessageMeta, Promise<Uint8Array>>();
  const wholeOf = (meta: MessageMeta) => {
    let body = whole.get(meta);
    if (!body) {
      body = messages.bodyRange(meta, 0, meta.physicalSize);
      whole.set(meta, body);
    }
    return body;
  };
  const read: BodyReader = async (meta, start, length) => {
    if (meta.size > WHOLE_BODY_MAX) return messages.bodyRange(meta, start, length);
    return (await wholeOf(meta)).subarray(start, start + length);
  };
  return {
    read,
    async prefetch(metas, parallel, beforeEach) {
      const small = metas.filter((m) => m.size <= WHOLE_BODY_MAX);
      let next = 0;
      const worker = async () => {
        while (next < small.length) {
          if (beforeEach && !(await beforeEach())) return;
          if (next < small.length) await wholeOf(small[next++]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, small.length) }, worker));
    },
  };
}
