/**
 * The one way a command reads the messages of a mailbox, after Aerogramme's
 * `Query { scope: Index | Partial | Full }`. The caller names the messages by the index entries it
 * holds (its snapshot: a message expunged since is still asked for, and its meta is simply absent)
 * and how much to read ahead of it; batches come back in order.
 *
 * - "index": nothing is read ahead; a batch holds its entries.
 * - "list": what a message list asks (internal date, size, top-level header block): each batch's
 *   from this computer's list view (listView.ts: one sealed segment per 1,000 messages), the meta
 *   of those it lacks read as in "meta"; the next batch's read runs while the caller works.
 * - "meta": each batch's sealed meta in one batched row read, the next batch's read running while
 *   the caller works on this one (metaReadAhead.ts).
 * - "body": as "meta", and a batch's body reader first fetches the batch's small bodies, a few at a
 *   time (bodyReader.ts): FETCH is about to read every body of the batch. Once they are in, the
 *   next batch's small bodies (up to BODY_AHEAD_BYTES) are fetched while the caller writes this
 *   batch out, so the link is not idle between batches.
 *
 * In every scope a batch can read bodies and text on demand (SEARCH BODY reads a message's text
 * only when cheaper keys have not decided).
 */
import type { MessageStore } from "../messageStore.ts";
import type { ListFacts } from "../listView.ts";
import type { MessageMeta } from "../metaCodec.ts";
import type { MailEntry, UidIndex } from "../uidIndex.ts";
import { cachingBodyReader, WHOLE_BODY_MAX, type BodyReader, type CachingBodyReader } from "./bodyReader.ts";
import { messageText } from "./messageText.ts";
import { metaReadAhead, prefetchFollowing, type MetaReadAhead } from "./metaReadAhead.ts";

export type ReadScope = "index" | "list" | "meta" | "body";

export interface ReadOptions {
  scope: ReadScope;
  /**
   * Messages per batch. By default 100 for "body" (a batch's small bodies are held at once) and 500
   * otherwise (one storage read per 500 metas). `Infinity`: one batch, every meta read at once.
   */
  batchSize?: number;
}

/** Bytes of the next batch's bodies fetched while a batch is written out: the memory it may add. */
export const BODY_AHEAD_BYTES = 16 * 1024 * 1024;
const NO_META: ReadonlyMap<string, MessageMeta> = new Map();

export interface ReadBatch<E extends MailEntry | undefined> {
  /** Position of the batch's first message in the list asked for. */
  from: number;
  entries: E[];
  /** Meta by message id ("meta" and "body"); absent for a message storage holds none for. */
  meta: ReadonlyMap<string, MessageMeta>;
  /** What a message list needs, by message id: in "list" alone, else the meta itself. */
  facts: ReadonlyMap<string, ListFacts>;
  /**
   * A reader of the batch's bodies (call once per batch): a body up to 1 MiB is read whole once and
   * cut from memory while the batch is held, a bigger one by ranges.
   */
  bodies(): Promise<BodyReader>;
  /** The decoded text of a message's text parts (SEARCH BODY, TEXT), read for it alone. */
  text(meta: MessageMeta): Promise<string>;
}

export class MessageReads<E extends MailEntry | undefined> implements AsyncIterable<ReadBatch<E>> {
  private readonly size: number;
  private readonly metaBatches: MetaReadAhead | undefined;
  private readonly factBatches: MetaReadAhead<ListFacts> | undefined;
  /** The next "body" batch's reader, filling while the current batch is written out. */
  private nextBodies: { from: number; reader: CachingBodyReader } | undefined;

  constructor(
    private readonly messages: MessageStore,
    private readonly index: () => UidIndex,
    private readonly entries: readonly E[],
    private readonly options: ReadOptions,
  ) {
    this.size = options.batchSize ?? (options.scope === "body" ? 100 : 500);
    // Started now: the first batch's read runs while the caller gets ready.
    const ids = () => entries.map((e) => e?.id ?? "");
    this.metaBatches =
      options.scope === "index" || options.scope === "list"
        ? undefined
        : metaReadAhead(messages, ids(), this.size);
    this.factBatches =
      options.scope === "list"
        ? metaReadAhead(messages, ids(), this.size, (batch) => messages.listFacts(batch))
        : undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReadBatch<E>> {
    for (let from = 0; from < this.entries.length; from += this.size) {
      const meta = (await this.metaBatches?.batch(from)) ?? NO_META;
      const facts = this.factBatches ? await this.factBatches.batch(from) : meta;
      yield this.batch(from, meta, facts);
    }
  }

  private batch(
    from: number,
    meta: ReadonlyMap<string, MessageMeta>,
    facts: ReadonlyMap<string, ListFacts>,
  ): ReadBatch<E> {
    const messages = this.messages;
    return {
      from,
      entries: this.entries.slice(from, from + this.size),
      meta,
      facts,
      bodies: () => this.bodies(from, meta),
      text: (m) => messageText(m, cachingBodyReader(messages).read),
    };
  }

  private async bodies(from: number, meta: ReadonlyMap<string, MessageMeta>): Promise<BodyReader> {
    if (this.options.scope !== "body") return cachingBodyReader(this.messages).read;
    const started = this.nextBodies?.from === from ? this.nextBodies.reader : undefined;
    this.nextBodies = undefined;
    const reader = started ?? cachingBodyReader(this.messages);
    // Bodies the read ahead already holds or has in flight are not fetched again.
    // As many at once as the store wants in flight: 16 near, more for a far host (its pool).
    await reader.prefetch([...meta.values()], this.messages.readParallelism());
    this.fillNext(from + this.size);
    return reader.read;
  }

  /** Starts fetching the small bodies of the batch at `from`, up to BODY_AHEAD_BYTES, in order. */
  private fillNext(from: number): void {
    const meta = this.metaBatches?.ahead(from);
    if (!meta) return;
    const reader = cachingBodyReader(this.messages);
    this.nextBodies = { from, reader };
    const fill = meta.then((next) => {
      if (this.nextBodies?.reader !== reader) return;
      const wanted: MessageMeta[] = [];
      let bytes = 0;
      for (const m of next.values()) {
        if (m.size > WHOLE_BODY_MAX) continue;
        if (bytes + m.size > BODY_AHEAD_BYTES) break;
        bytes += m.size;
        wanted.push(m);
      }
      return reader.prefetch(wanted, this.messages.readParallelism());
    });
    // A failure shows when that batch's bodies() fetches the same body again; a caller that stops
    // early must not leave it unhandled.
    fill.catch(() => undefined);
  }

  /**
   * After a message list has been read: starts reading the meta the client is likely to ask for
   * next (a batch after the last of these messages, or before the first). Not awaited.
   */
  prefetchFollowing(): void {
    const first = this.entries.find((e) => e !== undefined);
    let end = this.entries.length - 1;
    while (end >= 0 && this.entries[end] === undefined) end--;
    const last = this.entries[end];
    if (!first || !last) return;
    const messages = this.messages;
    if (this.options.scope === "list")
      prefetchFollowing(messages, this.index(), first, last, this.size, (ids) => messages.prefetchList(ids));
    else prefetchFollowing(messages, this.index(), first, last, this.size);
  }
}
