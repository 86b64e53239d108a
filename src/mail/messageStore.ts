/**
 * Messages at rest (DESIGN.md §4): each message is parsed once, at append, into sealed meta (row
 * `meta`/<mailId>: internal date, size, header block, MIME tree with offsets, ENVELOPE and
 * BODYSTRUCTURE, and the message's own key), and its raw bytes are sealed with that key in chunks
 * (blob `mail/<mailId>`), so a ranged FETCH opens only the chunks it needs and a header-only FETCH
 * never touches the blob. COPY is a server-side blob copy plus a new meta row carrying the same key:
 * nothing is re-encrypted. On a store whose rows take large values, a small body is row
 * `body`/<mailId> instead (messageLayout.ts), sealed the same way, written beside its meta row.
 */
import { openTransient, randomKey, seal, type SealContext, type SealKey } from "../crypto/aead.ts";
import {
  STREAM_HEADER_BYTES,
  cipherRangeFor,
  paddedLength,
  openRange,
  openStream,
  parseStreamHeader,
  sealedSize,
  sealStream,
} from "../crypto/chunkedStream.ts";
import { NotFound, StaleEpoch, Tampered } from "../errors.ts";
import { indexMessageBytes, toCrlfBytes } from "../mime/index.ts";
import type { RowWrite, Store } from "../storage/types.ts";
import { ClientActivity } from "./clientActivity.ts";
import { newMailId } from "./ids.ts";
import type { ListFacts, ListView } from "./listView.ts";
import type { SharedListView } from "./sharedListView.ts";
import { BodyRowReads } from "./bodyRows.ts";
import { BODY_ROW_MAX, BODY_ROW_PK, bodyBlobKey, bodyId, META_PK } from "./messageLayout.ts";
import { decodeMeta, encodeMeta, type MessageMeta } from "./metaCodec.ts";

/** Up to this many bytes before a range are fetched too, to get the stream header in the same GET. */
const ONE_GET_SLACK = 256 * 1024;
/** Stream headers of large bodies kept after a piece of them opened (see bodyRangeNow). */
const STREAM_HEADERS_KEPT = 32;
export const metaContext = (mailId: string): SealContext => ({
  purpose: "message-meta",
  path: `${META_PK}/${mailId}`,
});
const bodyContext = (path: string): SealContext => ({ purpose: "message-body", path });

/**
 * Opened metas kept. A client's message-list FETCH finds its chunk read ahead by the one before
 * (prefetchMeta reads up to 500 ahead, and the batches of a long read are 500): 1,000 keeps a
 * prefetched chunk until its FETCH comes. Each meta holds its header block and, once used, its
 * parsed MIME tree: ~2 KB on the bench corpus, so 2,000 of them held ~4 MB of a 24 MB live heap
 * after a first sync of 10,000 messages (bench/notes.md).
 */
const META_CACHE_SIZE = 1000;

/** Bounded cache of opened meta: the headers list of a big mailbox is fetched again and again. */
class MetaCache {
  private readonly entries = new Map<string, MessageMeta>();
  constructor(private readonly capacity: number) {}
  get(id: string): MessageMeta | undefined {
    const m = this.entries.get(id);
    if (m) {
      this.entries.delete(id);
      this.entries.set(id, m);
    }
    return m;
  }
  /** Without refreshing its place (a check, not a use). */
  peek(id: string): MessageMeta | undefined {
    return this.entries.get(id);
  }
  set(id: string, meta: MessageMeta): void {
    this.entries.delete(id);
    this.entries.set(id, meta);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
  delete(id: string): void {
    this.entries.delete(id);
  }
}

/**
 * What the cache fill needs of a message: its date (newest first), its body's stored size, and
 * whether the body is a row (`body`/<id>) rather than a blob (`mail/<id>`).
 */
export interface MessageFacts {
  internalDate: number;
  sealedBytes: number;
  inRow: boolean;
}

/** Told of messages stored, copied and deleted here: the local search index follows them. */
export interface MessageObserver {
  /** Called once the message is durable; must not block (the caller is waiting to answer). */
  stored(mailId: string, meta: MessageMeta, raw: Uint8Array): void;
  copied(mailIds: readonly string[]): void;
  deleted(mailIds: readonly string[]): void;
}

/** Reads of meta and bodies, as MessageStore offers them (see MessageStore.background). */
export interface BackgroundReads {
  getMeta(mailIds: string[]): Promise<Map<string, MessageMeta>>;
  bodyRange(meta: MessageMeta, offset: number, length: number): Promise<Uint8Array>;
  /** Body reads worth having in flight at once (more for a far host: Store.readParallelism). */
  readParallelism?(): number;
}

/** A message's body sealed under a new key, its meta not built yet (`MessageStore.sealBody`). */
export interface SealedBody {
  mailId: string;
  /** The blob the body goes to, or the name of its row's id (`inRow`). */
  blob: string;
  sealedBody: Uint8Array;
  /** The body goes to row `body`/<mailId>, in the batch of its meta row (never PUT on its own). */
  inRow: boolean;
  /** The message as stored (CRLF), for the observer once it is written. */
  raw: Uint8Array;
  key: Uint8Array;
}

/** A message sealed and indexed, not stored yet (`MessageStore.write`). */
export interface PreparedMessage extends SealedBody {
  meta: MessageMeta;
}

/** Pieces of a batch (bodies, copies, deletions) in flight at once. */
export const PIECES_PARALLEL = 16;

/** Runs `work` on every item, at most `limit` at a time; rejects with the first failure. */
export async function eachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failed ??= { error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed) throw failed.error as Error;
}

export class MessageStore {
  /** Reads and writes for clients (the cache fill waits for a lull in them). */
  readonly activity = new ClientActivity();
  /**
   * The same reads for background work (the search index's pass): not counted as client work, so
   * background work that waits for a lull in client work never waits on its own reads.
   */
  readonly background: BackgroundReads = {
    getMeta: (mailIds) => this.getMetaNow(mailIds),
    bodyRange: (meta, offset, length) => this.bodyRangeNow(meta, offset, length),
    readParallelism: () => this.readParallelism(),
  };
  observer: MessageObserver | undefined;
  /** This computer's list view (listView.ts): kept up with every meta written or read here. */
  listView: ListView | undefined;
  /** The list view shared through the bucket (sharedListView.ts): on a remote store with a list view. */
  sharedList: SharedListView | undefined;
  private readonly cache = new MetaCache(META_CACHE_SIZE);
  /** Batched meta reads in flight, by message id (see prefetchMeta). */
  private readonly reading = new Map<string, Promise<Map<string, MessageMeta>>>();
  /**
   * The stream header of a large body whose piece was opened with it, by blob key: a FETCH streams
   * such a body in 256 KiB pieces, and each piece past the first needed a GET of the header beside
   * the GET of its chunks (44 of the bench's 240 GETs for 200 bodies). Kept only once a piece
   * authenticated under it; the object is immutable, so it stays right.
   */
  private readonly streamHeaders = new Map<string, Uint8Array>();
  private readonly bodyRows: BodyRowReads;
  /** Sealed bodies up to this go to a body row; 0 on a store whose rows are small. */
  private readonly rowBodyMax: number;

  constructor(
    private readonly store: Store,
    private readonly metaKey: SealKey,
  ) {
    this.bodyRows = new BodyRowReads(store.rows);
    this.rowBodyMax = Math.min(BODY_ROW_MAX, store.largeRowBytes ?? 0);
    // The local cache's copy of a body written here waits for a lull in client work (cachedBlobs.ts).
    store.localCache?.holdCopiesUntil(() => this.activity.lull());
  }

  /** Seals and stores a message; durable when it resolves. */
  add(original: Uint8Array, internalDate: number): Promise<{ mailId: string; meta: MessageMeta }> {
    return this.activity.track(this.addNow(original, internalDate));
  }

  private async addNow(
    original: Uint8Array,
    internalDate: number,
  ): Promise<{ mailId: string; meta: MessageMeta }> {
    const prepared = this.prepare(original, internalDate);
    await this.write(prepared);
    return { mailId: prepared.mailId, meta: prepared.meta };
  }

  /**
   * Indexes and seals a message under a new id (or `mailId`, one made by newMailId and not used
   * before) and a new key, without storing anything.
   */
  prepare(original: Uint8Array, internalDate: number, mailId = newMailId()): PreparedMessage {
    return this.withMeta(this.sealBody(original, mailId), internalDate);
  }

  /**
   * The first half of prepare: the body sealed, ready to put before its meta is built (the MIME
   * index is not needed to seal it). Mailbox.append starts the body's PUT, the slowest piece,
   * between the two halves.
   */
  sealBody(original: Uint8Array, mailId = newMailId()): SealedBody {
    // Stored with CRLF line ends, as Dovecot serves them: offsets, sizes and sections then agree.
    const raw = toCrlfBytes(original);
    const key = randomKey();
    const blob = bodyBlobKey(mailId);
    const sealedBody = sealStream(key, raw, bodyContext(blob));
    return { mailId, blob, sealedBody, inRow: sealedBody.length <= this.rowBodyMax, raw, key };
  }

  /** The second half of prepare: the message's MIME index and meta. */
  withMeta(sealed: SealedBody, internalDate: number): PreparedMessage {
    const index = indexMessageBytes(sealed.raw);
    const meta: MessageMeta = {
      v: 1,
      internalDate,
      size: index.size,
      physicalSize: index.physicalSize,
      header: index.header,
      index,
      key: Buffer.from(sealed.key).toString("base64"),
      blob: sealed.blob,
      sealedFor: sealed.blob,
      ...(sealed.inRow ? { inRow: true as const } : {}),
    };
    return { ...sealed, meta };
  }

  /**
   * Stores a prepared message's body and meta at once (one round trip to a remote host); durable
   * when it resolves. The mailbox writes its op row at the same time (Mailbox.append).
   */
  async write(prepared: PreparedMessage): Promise<void> {
    if (prepared.inRow) {
      await this.store.rows.insertBatch(this.rowsOf([prepared]));
      this.keep(prepared.mailId, prepared.meta);
    } else
      await Promise.all([
        this.store.blobs.put(prepared.meta.blob, prepared.sealedBody),
        this.writeMeta(prepared.mailId, prepared.meta),
      ]);
    this.observer?.stored(prepared.mailId, prepared.meta, prepared.raw);
  }

  /**
   * Stores several prepared messages at once: the bodies 16 at a time, the meta rows in one batched
   * row write (K2V InsertBatch), both under way together.
   */
  writeMany(batch: PreparedMessage[], bodiesPut: ReadonlySet<PreparedMessage> = new Set()): Promise<void> {
    // Clients' writes: background work (the cache fill) waits for a lull in them.
    return this.activity.track(this.writeManyNow(batch, bodiesPut));
  }

  /** `bodiesPut`: messages whose bodies the caller put already (Mailbox.append's early PUT). */
  private async writeManyNow(
    batch: PreparedMessage[],
    bodiesPut: ReadonlySet<PreparedMessage>,
  ): Promise<void> {
    const bodies = batch.filter((p) => !bodiesPut.has(p) && !p.inRow);
    if (batch.length === 1 && !bodiesPut.has(batch[0]!)) return this.write(batch[0]!);
    await Promise.all([
      eachBounded(bodies, PIECES_PARALLEL, (p) => this.store.blobs.put(p.meta.blob, p.sealedBody)),
      this.store.rows.insertBatch(this.rowsOf(batch)).then(() => {
        for (const p of batch) this.keep(p.mailId, p.meta);
      }),
    ]);
    for (const p of batch) this.observer?.stored(p.mailId, p.meta, p.raw);
  }

  /**
   * The sealed meta rows of prepared messages and the body rows of those whose body is `inRow`,
   * for a caller that writes them in its own batch (an APPEND's go in one K2V InsertBatch with its
   * op row: Mailbox.pushBatch). Call `putBodies` beside it and `written` once both are durable.
   */
  rowsOf(batch: PreparedMessage[]): RowWrite[] {
    const rows: RowWrite[] = batch.map((p) => ({
      pk: META_PK,
      sk: p.mailId,
      value: seal(this.metaKey, encodeMeta(p.meta), metaContext(p.mailId)),
    }));
    for (const p of batch) if (p.inRow) rows.push({ pk: BODY_ROW_PK, sk: p.mailId, value: p.sealedBody });
    return rows;
  }

  /** Stores sealed bodies that go to blobs, 16 at a time; their rows go elsewhere (rowsOf). */
  putBodies(batch: readonly SealedBody[]): Promise<void> {
    const blobs = batch.filter((p) => !p.inRow);
    return this.activity.track(
      eachBounded(blobs, PIECES_PARALLEL, (p) => this.store.blobs.put(p.blob, p.sealedBody)),
    );
  }

  /** After putBodies and the meta rows are durable: the meta is cached and observers told. */
  written(batch: PreparedMessage[]): void {
    for (const p of batch) {
      this.keep(p.mailId, p.meta);
      this.observer?.stored(p.mailId, p.meta, p.raw);
    }
  }

  private async writeMeta(mailId: string, meta: MessageMeta): Promise<void> {
    await this.store.rows.insert(META_PK, mailId, seal(this.metaKey, encodeMeta(meta), metaContext(mailId)));
    this.keep(mailId, meta);
  }

  /** A meta written or read: cached, and its list facts kept. */
  private keep(mailId: string, meta: MessageMeta): void {
    this.cache.set(mailId, meta);
    this.listView?.add(mailId, meta);
  }

  /**
   * What a message list needs of each message (listView.ts), for a client's list: from the list
   * view where it holds them, else from the meta (whose facts then join the view). Missing
   * messages are left out.
   */
  listFacts(mailIds: string[]): Promise<Map<string, ListFacts>> {
    const view = this.listView;
    if (!view) return this.getMeta(mailIds);
    return this.activity.track(
      view.get(mailIds).then(async (found) => {
        const missing = mailIds.filter((id) => !found.has(id));
        if (missing.length > 0) for (const [id, m] of await this.getMetaNow(missing)) found.set(id, m);
        return found;
      }),
    );
  }

  /**
   * As prefetchMeta, for a list: the meta of messages the list view lacks is read ahead, and the
   * segments holding the others are opened. Returns whether anything was started or is at hand.
   */
  prefetchList(mailIds: string[]): boolean {
    const view = this.listView;
    if (!view) return this.prefetchMeta(mailIds);
    if (view.filling) {
      // What the bucket's segments hold is not read from meta.
      void view.settled().then(() => this.prefetchList(mailIds));
      return true;
    }
    const held = mailIds.filter((id) => view.holds(id));
    const missing = held.length === mailIds.length ? [] : mailIds.filter((id) => !view.holds(id));
    if (held.length > 0) view.get(held).catch(() => undefined);
    return this.prefetchMeta(missing) || held.length > 0;
  }

  /** Meta of many messages with one batched read for those not cached; missing ones are left out. */
  getMeta(mailIds: string[]): Promise<Map<string, MessageMeta>> {
    return this.activity.track(this.getMetaNow(mailIds));
  }

  private async getMetaNow(mailIds: string[]): Promise<Map<string, MessageMeta>> {
    const out = new Map<string, MessageMeta>();
    const missing: string[] = [];
    const reads = new Set<Promise<Map<string, MessageMeta>>>();
    for (const id of mailIds) {
      const m = this.cache.get(id);
      const inFlight = m ? undefined : this.reading.get(id);
      if (m) out.set(id, m);
      else if (inFlight)
        reads.add(inFlight.catch(() => new Map())); // failed: read again below
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 500) reads.add(this.readMeta(missing.slice(i, i + 500)));
    for (const found of await Promise.all(reads)) for (const [id, m] of found) out.set(id, m);
    const readHere = new Set(missing);
    const again = mailIds.filter((id) => !out.has(id) && !readHere.has(id));
    if (again.length > 0) for (const [id, m] of await this.readMeta(again)) out.set(id, m);
    if (reads.size === 0) return out;
    // A prefetch may have read more than was asked for here.
    const asked = new Set(mailIds);
    for (const id of out.keys()) if (!asked.has(id)) out.delete(id);
    return out;
  }

  /**
   * Starts reading the meta of `mailIds` that are neither cached nor being read, without waiting:
   * a client walking its message list in chunks then finds the next chunk read already (one round
   * trip to a remote host saved per chunk). Failures are dropped; getMeta reads again. Returns
   * whether a read was started.
   */
  prefetchMeta(mailIds: string[]): boolean {
    const wanted = mailIds.filter((id) => !this.cache.peek(id) && !this.reading.has(id)).slice(0, 500);
    // Read-ahead only: a failed prefetch leaves the ids uncached, and the real read asks again.
    if (wanted.length > 0) this.readMeta(wanted).catch(() => {});
    return wanted.length > 0;
  }

  /**
   * Date and body size of messages, read through the store in one batch (a local cache in front of
   * it keeps the rows) but neither kept in the meta cache nor counted as client work: the
   * background cache fill's read. Missing ones are left out.
   */
  async factsOf(ids: string[]): Promise<Map<string, MessageFacts>> {
    const found = new Map<string, MessageFacts>();
    for (const [id, meta] of await this.readOpened(ids, (id) => this.cache.peek(id)))
      found.set(id, {
        internalDate: meta.internalDate,
        sealedBytes: sealedSize(meta.physicalSize),
        inRow: meta.inRow === true,
      });
    return found;
  }

  /** One batched read; the results also go to the cache. */
  private readMeta(ids: string[]): Promise<Map<string, MessageMeta>> {
    const read = (async () => {
      const found = await this.readOpened(ids);
      for (const [id, meta] of found) this.keep(id, meta);
      return found;
    })().finally(() => {
      for (const id of ids) if (this.reading.get(id) === read) this.reading.delete(id);
    });
    for (const id of ids) this.reading.set(id, read);
    return read;
  }

  /**
   * Meta rows read in one batch and opened; missing ones are left out. A row sealed under a key
   * epoch this account dropped (StaleEpoch) can be a local cache's copy from before a rekey
   * finished: those copies are dropped and the rows read once more, from storage, whose answer is
   * opened as usual (a host serving an old row again only costs that second read).
   */
  private async readOpened(
    ids: string[],
    known: (id: string) => MessageMeta | undefined = () => undefined,
  ): Promise<Map<string, MessageMeta>> {
    const found = new Map<string, MessageMeta>();
    const stale = await this.openRows(ids, found, known, true);
    const localCache = this.store.localCache;
    if (stale.length === 0) return found;
    if (!localCache) throw stale[0]!.err;
    await localCache.forget(
      stale.map(({ id }) => ({ pk: META_PK, sk: id })),
      [],
    );
    await this.openRows(
      stale.map(({ id }) => id),
      found,
      known,
      false,
    );
    return found;
  }

  /** Opens the rows of `ids` into `found`; returns the stale ones when `keepStale`, else throws. */
  private async openRows(
    ids: string[],
    found: Map<string, MessageMeta>,
    known: (id: string) => MessageMeta | undefined,
    keepStale: boolean,
  ): Promise<{ id: string; err: StaleEpoch }[]> {
    const stale: { id: string; err: StaleEpoch }[] = [];
    const rows = await this.store.rows.readBatch(ids.map((sk) => ({ pk: META_PK, sk })));
    rows.forEach((row, j) => {
      const id = ids[j]!;
      const value = row?.values[0];
      if (!value) return;
      const already = known(id);
      if (already) return void found.set(id, already);
      try {
        // decodeMeta copies what it keeps: the plaintext's room is reused by the next row.
        found.set(id, openTransient(this.metaKey, value, metaContext(id), decodeMeta));
      } catch (err) {
        if (!keepStale || !(err instanceof StaleEpoch)) throw err;
        stale.push({ id, err });
      }
    });
    return stale;
  }

  async meta(mailId: string): Promise<MessageMeta> {
    const m = (await this.getMeta([mailId])).get(mailId);
    if (!m) throw new NotFound(`message ${mailId} has no meta in storage`);
    return m;
  }

  /** Body reads worth having in flight at once: the store's pool, or PIECES_PARALLEL. */
  readParallelism(): number {
    return this.store.readParallelism?.() ?? PIECES_PARALLEL;
  }

  /** The whole raw message. */
  body(meta: MessageMeta): Promise<Uint8Array> {
    return this.activity.track(this.bodyNow(meta));
  }

  private async bodyNow(meta: MessageMeta): Promise<Uint8Array> {
    if (meta.inRow) return (await this.rowBody(meta)).opened;
    const sealed = await this.store.blobs.get(meta.blob);
    if (!sealed) throw new NotFound(`the body of a message is missing from storage (${meta.blob})`);
    return openStream(Buffer.from(meta.key, "base64"), sealed, bodyContext(meta.sealedFor));
  }

  /**
   * Bytes [offset, offset+length) of the raw message, fetching only the chunks that hold them. The
   * chunk layout follows from the size in meta, so the stream header and the chunks come in one
   * ranged GET when the range starts near the beginning (one round trip to a remote host, not two),
   * and in two parallel GETs otherwise.
   */
  bodyRange(meta: MessageMeta, offset: number, length: number): Promise<Uint8Array> {
    return this.activity.track(this.bodyRangeNow(meta, offset, length));
  }

  private async bodyRangeNow(meta: MessageMeta, offset: number, length: number): Promise<Uint8Array> {
    const total = meta.physicalSize;
    const start = Math.min(offset, total);
    const len = Math.max(0, Math.min(length, total - start));
    if (len === 0) return new Uint8Array(0);
    // A body row is small (BODY_ROW_MAX) and read whole.
    if (meta.inRow) return (await this.rowBody(meta)).opened.subarray(start, start + len);
    const key = Buffer.from(meta.key, "base64");
    const ctx = bodyContext(meta.sealedFor);
    const layout = {
      bytes: new Uint8Array(0),
      nonce: new Uint8Array(0),
      length: total,
      padded: paddedLength(total),
    };
    const range = cipherRangeFor(layout, start, len);
    const missing = () => new NotFound(`the body of a message is missing from storage (${meta.blob})`);
    let headerBytes: Uint8Array;
    let cipher: Uint8Array;
    if (range.start - STREAM_HEADER_BYTES <= ONE_GET_SLACK) {
      // The whole object is asked for without a range: a local cache keeps whole objects only.
      const whole = range.end + 1 >= sealedSize(total);
      const bytes = await this.store.blobs.get(meta.blob, whole ? undefined : { start: 0, end: range.end });
      if (!bytes) throw missing();
      headerBytes = bytes.subarray(0, STREAM_HEADER_BYTES);
      cipher = bytes.subarray(range.start);
    } else {
      const known = this.streamHeaders.get(meta.blob);
      const [h, c] = await Promise.all([
        known ?? this.store.blobs.get(meta.blob, { start: 0, end: STREAM_HEADER_BYTES - 1 }),
        this.store.blobs.get(meta.blob, range),
      ]);
      if (!h || !c) throw missing();
      headerBytes = h;
      cipher = c;
    }
    const header = parseStreamHeader(key, headerBytes, ctx);
    if (header.length !== total)
      throw new Tampered(`${meta.blob}: the sealed body does not have the size its meta records`);
    const opened = openRange(key, header, cipher, ctx, start, len);
    if (total > ONE_GET_SLACK && !this.streamHeaders.has(meta.blob)) {
      if (this.streamHeaders.size >= STREAM_HEADERS_KEPT)
        this.streamHeaders.delete(this.streamHeaders.keys().next().value!);
      this.streamHeaders.set(meta.blob, Uint8Array.from(headerBytes));
    }
    return opened;
  }

  /**
   * A body row opened: the first of its values that authenticates (a value the host added beside
   * it as a sibling is passed over), and those sealed bytes. NotFound when the row is gone; the
   * first value's error when none opens (Tampered, WrongContext, Truncated).
   */
  private async rowBody(meta: MessageMeta): Promise<{ opened: Uint8Array; sealed: Uint8Array }> {
    const id = bodyId(meta.blob);
    const row = await this.bodyRows.read(id);
    if (!row || row.values.length === 0)
      throw new NotFound(`the body of a message is missing from storage (row ${BODY_ROW_PK}/${id})`);
    const key = Buffer.from(meta.key, "base64");
    let first: unknown;
    for (const sealed of row.values) {
      try {
        return { opened: openStream(key, sealed, bodyContext(meta.sealedFor)), sealed };
      } catch (err) {
        first ??= err;
      }
    }
    throw first;
  }

  /**
   * A new message id for the same content, and the write that makes it (server-side blob copy and
   * a new meta row with the same key, at once: no re-encryption). A body row is read and written
   * again under the new id, in the batch of the new meta row (K2V has no server-side copy).
   */
  prepareCopy(meta: MessageMeta): { mailId: string; write: () => Promise<void> } {
    const copyId = newMailId();
    const blob = bodyBlobKey(copyId);
    return {
      mailId: copyId,
      write: async () => {
        if (meta.inRow) {
          const { sealed } = await this.rowBody(meta);
          const copy = { ...meta, blob };
          await this.store.rows.insertBatch([
            { pk: META_PK, sk: copyId, value: seal(this.metaKey, encodeMeta(copy), metaContext(copyId)) },
            { pk: BODY_ROW_PK, sk: copyId, value: sealed },
          ]);
          this.keep(copyId, copy);
          this.observer?.copied([copyId]);
          return;
        }
        await Promise.all([
          this.store.blobs.copy(meta.blob, blob),
          this.writeMeta(copyId, { ...meta, blob }),
        ]);
        this.observer?.copied([copyId]);
      },
    };
  }

  /** Which of these messages have both their meta and their body in storage. */
  async whole(mailIds: string[]): Promise<Set<string>> {
    const metas = await this.getMeta(mailIds);
    const out = new Set<string>();
    const inRows = [...metas].filter(([, meta]) => meta.inRow);
    const rows = await this.bodyRows.readMany(inRows.map(([, meta]) => bodyId(meta.blob)));
    inRows.forEach(([id], i) => {
      if (rows[i] && rows[i].values.length > 0) out.add(id);
    });
    await eachBounded(
      [...metas].filter(([, meta]) => !meta.inRow),
      PIECES_PARALLEL,
      async ([id, meta]) => {
        if (await this.store.blobs.head(meta.blob)) out.add(id);
      },
    );
    return out;
  }

  /** Deletes a body whose message was never added (no meta, nothing told of it). */
  deleteBody(sealed: SealedBody): Promise<void> {
    // A body row is only ever written with its meta row: there is nothing of it alone.
    if (sealed.inRow) return Promise.resolve();
    return this.store.blobs.delete(sealed.blob);
  }

  /** Deletes the body and meta of these messages, a few at a time. */
  async delete(mailIds: string[]): Promise<void> {
    this.observer?.deleted(mailIds);
    try {
      const metas = await this.getMeta(mailIds);
      await eachBounded(mailIds, PIECES_PARALLEL, async (id) => {
        const meta = metas.get(id);
        // Without meta the body's place is still known: blob and row names follow from the id;
        // both are tried where the store keeps body rows.
        if (!meta?.inRow) await this.store.blobs.delete(meta?.blob ?? bodyBlobKey(id));
        // A range of one key: deleted without reading the row (up to 64 KiB) for its token first.
        if (meta?.inRow || (!meta && this.rowBodyMax > 0)) {
          const sk = meta ? bodyId(meta.blob) : id;
          await this.store.rows.deleteRange(BODY_ROW_PK, { start: sk, end: `${sk}\u0000` });
        }
        const row = await this.store.rows.read(META_PK, id);
        if (row) await this.store.rows.delete(META_PK, id, row.token);
        this.cache.delete(id);
      });
    } finally {
      // After the meta read above, which keeps what it reads.
      this.listView?.forget(mailIds);
    }
  }
}
