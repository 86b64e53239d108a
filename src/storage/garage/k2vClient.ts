/**
 * Signed HTTP calls to Garage's K2V API (doc/drafts/k2v-spec.md), SigV4 for the "k2v" service.
 *
 * Garage checks K2V signatures over the path URI-encoded a second time (as AWS does for every
 * service but S3), so the path we sign is the already-encoded one and the signer (aws4, through
 * net/sigV4.ts) supplies the second round. The partition key is one path segment
 * with every reserved character encoded, '.' included, so no path normalisation can touch it.
 */
import type { StorageCredentials } from "../backendConfig.ts";
import { k2vFailure, k2vRetryable, readHttpError } from "./k2vErrors.ts";
import { isClockSkew } from "../net/s3Errors.ts";
import { Limiter } from "../net/limiter.ts";
import { attemptTimeout, type NetOptions } from "../net/netOptions.ts";
import { withRetry } from "../net/retry.ts";
import { timed } from "../net/timed.ts";
import { httpCall, HttpAgents, type HttpAnswer } from "../net/httpCall.ts";
import { SigV4Signer } from "../net/sigV4.ts";

export interface K2vTarget {
  k2vEndpoint: string;
  region: string;
  bucket: string;
}

export interface K2vCall {
  method: "GET" | "PUT" | "DELETE" | "POST";
  /** The partition key, or none for the bucket-level endpoints (batches, index). */
  pk?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** An absent item (404 NoSuchKey, not NoSuchBucket) is an answer with status 404, not an error. */
  absentOk?: boolean;
}

export type K2vAnswer = HttpAnswer;

/** RFC 3986 escaping of a query value or path segment, as SigV4 and Garage's signature check use. */
export function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*.]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export class K2vClient {
  private readonly signer: SigV4Signer;
  private readonly limiter: Limiter;
  private readonly base: URL;
  private readonly agents = new HttpAgents();
  private closed = false;

  constructor(
    readonly target: K2vTarget,
    credentials: StorageCredentials,
    readonly net: NetOptions,
    private clockOffsetMs = 0,
  ) {
    this.signer = new SigV4Signer("k2v", target.region, credentials);
    this.limiter = new Limiter(net.concurrency);
    this.base = new URL(target.k2vEndpoint.replace(/\/+$/, "") + "/");
  }

  /** A call with retries (every K2V call we make is safe to repeat), timeout and the pool. */
  async call(req: K2vCall): Promise<K2vAnswer> {
    const bytes = req.body?.length ?? 0;
    try {
      return await this.limiter.run(() =>
        withRetry(
          this.net,
          () => timed(attemptTimeout(this.net, bytes), (signal) => this.once(req, signal)),
          k2vRetryable,
          () => this.closed,
        ),
      );
    } catch (err) {
      throw k2vFailure(this.target, err);
    }
  }

  /** One attempt, outside the pool (long polls would otherwise hold its slots). */
  async once(req: K2vCall, signal: AbortSignal): Promise<K2vAnswer> {
    const segments = [this.base.pathname.replace(/\/$/, ""), uriEscape(this.target.bucket)];
    if (req.pk !== undefined) segments.push(uriEscape(req.pk));
    const path = segments.join("/");
    const query = req.query ?? {};
    const search = Object.entries(query)
      .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
      .join("&");
    const headers = this.signer.sign({
      method: req.method,
      path,
      query,
      headers: { host: this.base.host, ...req.headers },
      ...(req.body ? { body: req.body } : {}),
      date: new Date(Date.now() + this.clockOffsetMs),
    });
    const answer = await httpCall(this.agents, {
      method: req.method,
      url: new URL(`${this.base.origin}${path}${search ? `?${search}` : ""}`),
      headers,
      ...(req.body ? { body: req.body } : {}),
      signal,
    });
    if (answer.status >= 400) {
      const err = readHttpError(answer);
      // As the S3 SDK does: this call fails with the clock message, later ones sign with the
      // host's time (learnt from its Date header, to the second).
      if (isClockSkew(err.code, err.detail) && err.serverDate !== undefined)
        this.clockOffsetMs = err.serverDate - Date.now();
      if (req.absentOk && err.status === 404 && err.code !== "NoSuchBucket")
        return { status: 404, headers: answer.headers, body: new Uint8Array(0) };
      throw err;
    }
    return answer;
  }

  /** Maps a failure of `once` as `call` would. */
  failure(err: unknown) {
    return k2vFailure(this.target, err);
  }

  close(): void {
    this.closed = true;
    this.agents.destroy();
  }
}
