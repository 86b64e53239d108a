/**
 * How FETCH and SEARCH read message bytes: a body up to WHOLE_BODY_MAX is fetched once, whole (one
 * ranged GET for header and chunks), and every later part of it is cut from memory; larger bodies
 * are read by ranges, so they are never held whole. Once a larger body is read piece after piece
 * (FETCH streams BODY[] in 256 KiB pieces), the next pieces are fetched ahead, a few at once: each
 * piece was one round trip after another (15 for a 3.7 MB message, the two largest of the bench's
 * newest 200 making 44 of its 244 requests), now they overlap.
 */
import type { MessageMeta } from "../metaCodec.ts";
import type { BackgroundReads } from "../messageStore.ts";

/** Reads bytes [start, start+length) of a stored message. */
export type BodyReader = (meta: MessageMeta, start: number, length: number) => Promise<Uint8Array>;

export const WHOLE_BODY_MAX = 1024 * 1024;

/** Pieces of a large body fetched ahead of the one being read: at most 4 x 256 KiB held. */
export const PIECES_AHEAD = 4;
/** Near a far host (a store that wants more reads in flight), up to this many: 4 MiB held. */
export const PIECES_AHEAD_MAX = 16;

/**
 * Pieces fetched ahead for a store that wants `parallelism` reads in flight: a quarter of them, so
 * that a streamed large body takes a round trip per 1 MiB at 40 ms and the same at 100 ms, and a
 * few such streams still leave room for the small bodies of a batch.
 */
export function piecesAheadFor(parallelism: number | undefined): number {
  if (parallelism === undefined) return PIECES_AHEAD;
  return Math.max(PIECES_AHEAD, Math.min(PIECES_AHEAD_MAX, Math.floor(parallelism / 4)));
}

export interface CachingBodyReader {
  read: BodyReader;
  /**
   * Fetches the small bodies among `metas`, `parallel` at a time (without `beforeEach`, those kept
   * in rows all at once), into the cache; `beforeEach`, when given, is awaited before each fetch
   * (background work waiting for a lull in client work), and the prefetch stops when it resolves
   * to false. Rejects at the first body it cannot read (a FETCH
   * that awaits it answers NO at once); a caller that awaits it only later must catch it at once
   * (indexFiller.ts does), or an unhandled rejection ends the process.
   */
  prefetch(metas: MessageMeta[], parallel: number, beforeEach?: () => Promise<boolean>): Promise<void>;
}

/** `messages`: a MessageStore (client reads) or its `background` reads. */
export function cachingBodyReader(
  messages: Pick<BackgroundReads, "bodyRange" | "readParallelism">,
): CachingBodyReader {
  const whole = new Map<MessageMeta, Promise<Uint8Array>>();
  const wholeOf = (meta: MessageMeta) => {
    let body = whole.get(meta);
    if (!body) {
      body = messages.bodyRange(meta, 0, meta.physicalSize);
      whole.set(meta, body);
    }
    return body;
  };
  const pieces = pieceReader(messages);
  const read: BodyReader = async (meta, start, length) => {
    if (meta.size > WHOLE_BODY_MAX) return pieces(meta, start, length);
    return (await wholeOf(meta)).subarray(start, start + length);
  };
  return {
    read,
    async prefetch(metas, parallel, beforeEach) {
      let small = metas.filter((m) => m.size <= WHOLE_BODY_MAX);
      // A client's read asks for the bodies kept in rows all at once: they go out many to a K2V
      // ReadBatch (bodyRows.ts), one round trip for a batch of them, where `parallel` at a time
      // took a round trip per `parallel` bodies. Background work keeps to its lulls.
      const inRows = beforeEach ? [] : small.filter((m) => m.inRow);
      if (inRows.length > 0) small = small.filter((m) => !m.inRow);
      const rows = Promise.all(inRows.map(wholeOf));
      let next = 0;
      const worker = async () => {
        while (next < small.length) {
          if (beforeEach && !(await beforeEach())) return;
          if (next < small.length) await wholeOf(small[next++]!);
        }
      };
      await Promise.all([rows, ...Array.from({ length: Math.min(parallel, small.length) }, worker)]);
    },
  };
}

/**
 * Reads of a large body by ranges. A read from the body's start, or from where the previous read of
 * the same body ended, is taken as a stream: the next PIECES_AHEAD pieces of the same length are
 * fetched at once (more when the store wants more reads in flight: piecesAheadFor), and a read that
 * was fetched ahead takes those bytes. A read elsewhere (a part of the message) fetches nothing
 * more. Only the body read last is tracked, so at most PIECES_AHEAD_MAX pieces are held.
 */
function pieceReader(messages: Pick<BackgroundReads, "bodyRange" | "readParallelism">): BodyReader {
  let current: MessageMeta | undefined;
  let nextStart = -1;
  let ahead = new Map<number, { length: number; bytes: Promise<Uint8Array> }>();
  const fetch = (meta: MessageMeta, start: number, length: number) => {
    const bytes = messages.bodyRange(meta, start, length);
    bytes.catch(() => undefined); // surfaces when this piece is read; never unhandled
    return bytes;
  };
  return async (meta, start, length) => {
    if (meta !== current) {
      current = meta;
      ahead = new Map();
    }
    const streaming = start === 0 || start === nextStart;
    nextStart = start + length;
    const held = ahead.get(start);
    ahead.delete(start);
    // A piece fetched ahead may run past the end of what is read now (the stream's last piece).
    const bytes =
      held && held.length >= length
        ? held.bytes.then((b) => b.subarray(0, length))
        : fetch(meta, start, length);
    if (streaming) {
      const piecesAhead = piecesAheadFor(messages.readParallelism?.());
      for (let i = 0, at = nextStart; i < piecesAhead && at < meta.physicalSize; i++, at += length) {
        if (!ahead.has(at)) ahead.set(at, { length, bytes: fetch(meta, at, length) });
      }
    }
    return bytes;
  };
}
