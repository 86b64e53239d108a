/**
 * BlobStore over S3 (DESIGN.md §3). Every call is idempotent (a put overwrites with the same
 * bytes, a delete of an absent key succeeds, a copy rewrites the same target), so every call is
 * retried with backoff on network failures and host errors, under a per-attempt timeout and the
 * store's concurrency limit.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "./awsSdk.ts";
import { NotFound } from "../../errors.ts";
import { clipRange } from "../blobRange.ts";
import { compareKeys } from "../rowSemantics.ts";
import type { BlobHead, BlobListing, BlobStore, ByteRange } from "../types.ts";
import { Limiter } from "./limiter.ts";
import { attemptTimeout, type NetOptions } from "./netOptions.ts";
import { poolFor, RoundTrip } from "./roundTrip.ts";
import type { S3Clients } from "./s3Client.ts";
import type { S3Getter } from "./s3Get.ts";
import type { S3Putter } from "./s3Put.ts";
import { withRetry } from "./retry.ts";
import { s3Failure, s3Retryable, s3Status, type S3Target } from "./s3Errors.ts";
import { timed } from "./timed.ts";

/** S3 ListObjectsV2 returns at most this many keys per page. */
const LIST_PAGE = 1000;
/** A GET answering at most this much counts towards the round trip (a larger one is bandwidth). */
const SMALL_ANSWER = 64 * 1024;

export class S3BlobStore implements BlobStore {
  private readonly limiter: Limiter;
  private readonly roundTrip = new RoundTrip();
  private closed = false;
  private readonly s3: S3Client;
  /** The client of calls answered with a body (GET, LIST): see makeS3Clients. */
  private readonly reads: S3Client;
  /** PutObject without the SDK, when the store was given one (s3Put.ts). */
  private readonly putter: S3Putter | undefined;
  /** GetObject without the SDK, when the store was given one (s3Get.ts). */
  private readonly getter: S3Getter | undefined;

  constructor(
    clients: S3Client | S3Clients,
    private readonly target: S3Target,
    private readonly net: NetOptions,
  ) {
    this.s3 = "writes" in clients ? clients.writes : clients;
    this.reads = "reads" in clients ? clients.reads : clients;
    this.putter = "put" in clients ? clients.put : undefined;
    this.getter = "get" in clients ? clients.get : undefined;
    this.limiter = new Limiter(net.concurrency);
  }

  /** Calls this store keeps in flight now: its pool, which follows the round trip. */
  get parallelism(): number {
    return this.limiter.size;
  }

  /** The round trip as measured so far (ms), if any call has been timed. */
  get roundTripMs(): number | undefined {
    return this.roundTrip.ms;
  }

  /**
   * Records a small call's time to its response headers and sizes the pool from it. Only a call
   * alone from start to headers counts: in a burst, every call's time holds the others' CPU on
   * this side (the SDK, signing: 120 GETs at once to a host answering at once took 7 ms each on a
   * loaded 2-core machine), which would grow the pool for a host that needs no more.
   */
  private timedHeaders(alone: boolean, startedAt: number, answerBytes: number): void {
    if (!alone || this.limiter.inFlight !== 1 || answerBytes > SMALL_ANSWER) return;
    this.roundTrip.record(performance.now() - startedAt);
    this.limiter.resize(poolFor(this.roundTrip.ms, this.net.concurrency, this.net.maxConcurrency));
  }

  /** One S3 call with retries, timeout and the concurrency limit; failures become AppErrors. */
  async call<T>(
    bytes: number,
    send: (signal: AbortSignal, extend: (ms: number) => void) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.limiter.run(() =>
        withRetry(
          this.net,
          () => timed(attemptTimeout(this.net, bytes), send),
          s3Retryable,
          () => this.closed,
        ),
      );
    } catch (err) {
      throw s3Failure(this.target, err);
    }
  }

  private get bucket(): string {
    return this.target.bucket;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const body = Uint8Array.from(bytes); // what the caller changes afterwards must not reach a retry
    await this.call(body.length, async (abortSignal) => {
      if (this.putter) await this.putter.put(this.bucket, key, body, abortSignal);
      else
        await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }), {
          abortSignal,
        });
    });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    if (range) clipRange(Number.MAX_SAFE_INTEGER, range); // refuses a malformed range with Invalid
    const header = range ? `bytes=${range.start}-${range.end ?? ""}` : undefined;
    return this.call(0, async (abortSignal, extend) => {
      const alone = this.limiter.inFlight === 1;
      const startedAt = performance.now();
      const getter = this.getter;
      if (getter)
        return getter.get(this.bucket, key, {
          ...(range ? { range } : {}),
          signal: abortSignal,
          onHeaders: (length) => {
            this.timedHeaders(alone, startedAt, length ?? Infinity);
            // The headers came in time; the body gets the time its length needs.
            extend(attemptTimeout(this.net, length ?? 0));
          },
        });
      try {
        const res = await this.reads.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(header ? { Range: header } : {}) }),
          { abortSignal },
        );
        this.timedHeaders(alone, startedAt, res.ContentLength ?? 0);
        // The headers came in time; the body gets the time its length needs.
        extend(attemptTimeout(this.net, res.ContentLength ?? 0));
        const body = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
        return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === "NoSuchKey") return null;
        // A range that starts at or past the end: the object exists, the span is empty.
        if (s3Status(err) === 416 || name === "InvalidRange") return new Uint8Array(0);
        throw err;
      }
    });
  }

  async head(key: string): Promise<BlobHead | null> {
    return this.call(0, async (abortSignal) => {
      const alone = this.limiter.inFlight === 1;
      const startedAt = performance.now();
      try {
        const res = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal,
        });
        this.timedHeaders(alone, startedAt, 0);
        return { size: res.ContentLength ?? 0 };
      } catch (err) {
        if (s3Status(err) === 404) return null;
        throw err;
      }
    });
  }

  async delete(key: string): Promise<void> {
    await this.call(0, (abortSignal) =>
      this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
    );
  }

  async list(prefix: string, startAfter?: string, limit?: number): Promise<BlobListing> {
    // Some hosts (Garage among them) list nothing when StartAfter sorts before Prefix: settle it here.
    if (startAfter !== undefined && !startAfter.startsWith(prefix)) {
      if (compareKeys(startAfter, prefix) > 0) return { keys: [] };
      startAfter = undefined;
    }
    const keys: string[] = [];
    let continuation: string | undefined;
    for (;;) {
      const want = limit === undefined ? LIST_PAGE : Math.min(LIST_PAGE, limit - keys.length);
      const page = await this.call(0, (abortSignal) =>
        this.reads.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: want,
            ...(continuation
              ? { ContinuationToken: continuation }
              : startAfter
                ? { StartAfter: startAfter }
                : {}),
          }),
          { abortSignal },
        ),
      );
      for (const obj of page.Contents ?? []) if (obj.Key !== undefined) keys.push(obj.Key);
      const more = Boolean(page.IsTruncated && page.NextContinuationToken);
      if (!more) return { keys };
      if (limit !== undefined && keys.length >= limit) {
        return { keys, nextStartAfter: keys[keys.length - 1] };
      }
      continuation = page.NextContinuationToken;
    }
  }

  async copy(from: string, to: string): Promise<void> {
    // CopySource is "bucket/key", URL-encoded; '/' inside the key stays a '/'.
    const source = `${this.bucket}/${from.split("/").map(encodeURIComponent).join("/")}`;
    await this.call(0, async (abortSignal) => {
      try {
        await this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }), {
          abortSignal,
        });
      } catch (err) {
        if ((err as { name?: string }).name === "NoSuchKey" || s3Status(err) === 404) {
          if ((err as { name?: string }).name !== "NoSuchBucket")
            throw new NotFound(`blob ${from} does not exist (copy to ${to})`);
        }
        throw err;
      }
    });
  }

  /** Ends retries in progress; the client itself is destroyed by the store. */
  close(): void {
    this.closed = true;
  }
}
