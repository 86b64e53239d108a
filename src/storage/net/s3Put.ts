/**
 * S3 PutObject without the SDK: a path-style PUT signed with SigV4 (payload hash included) and sent
 * over node:http (httpCall.ts). Every APPEND puts one body, and the SDK's middleware stack cost
 * about 2.3 ms of CPU per 50 KB PUT on a shared 2-core machine, more than Garage itself took to
 * store it. The other S3 calls (GET, HEAD, LIST, COPY, DELETE) are rarer and stay on the SDK.
 *
 * A refusal becomes an S3HttpError shaped as the SDK's errors are (`name` is the S3 code,
 * `$metadata.httpStatusCode` the status), so that s3Errors.ts maps both the same way.
 */
import type { StorageCredentials } from "../backendConfig.ts";
import { httpCall, HttpAgents } from "./httpCall.ts";
import { SigV4Signer } from "./sigV4.ts";
import { isClockSkew } from "./s3Errors.ts";

export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };

  constructor(status: number, code: string | undefined, message: string) {
    super(message || `HTTP ${status}`);
    this.name = code ?? `HTTP${status}`;
    this.$metadata = { httpStatusCode: status };
  }
}

/** RFC 3986 escaping of one key segment, as S3 signs it ('/' between segments stays). */
export function escapeKey(key: string): string {
  return key
    .split("/")
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");
}

/** The text of the first `<tag>` of an XML error body, if any. */
export function xmlField(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1];
}

export class S3Putter {
  private readonly signer: SigV4Signer;
  private readonly base: URL;
  private readonly agents = new HttpAgents();

  constructor(
    target: { s3Endpoint: string; region: string },
    credentials: StorageCredentials,
    private clockOffsetMs = 0,
  ) {
    this.signer = new SigV4Signer("s3", target.region, credentials);
    this.base = new URL(target.s3Endpoint.replace(/\/+$/, "") + "/");
  }

  /** One attempt (the caller retries and times out); resolves once the host stored the object. */
  async put(bucket: string, key: string, body: Uint8Array, signal: AbortSignal): Promise<void> {
    const path = `${this.base.pathname}${escapeKey(bucket)}/${escapeKey(key)}`;
    const headers = this.signer.sign({
      method: "PUT",
      path,
      headers: {
        host: this.base.host,
        "content-type": "application/octet-stream",
        "content-length": String(body.length),
      },
      body,
      date: new Date(Date.now() + this.clockOffsetMs),
    });
    const answer = await httpCall(this.agents, {
      method: "PUT",
      url: new URL(`${this.base.origin}${path}`),
      headers,
      body,
      signal,
    });
    if (answer.status >= 200 && answer.status < 300) return;
    const xml = new TextDecoder().decode(answer.body);
    const err = new S3HttpError(answer.status, xmlField(xml, "Code"), xmlField(xml, "Message") ?? "");
    // As the SDK does for its calls: this one fails with the clock message, later ones sign with
    // the host's time (learnt from its Date header, to the second).
    const date = Date.parse(answer.headers.get("date") ?? "");
    if (isClockSkew(err.name, err.message) && !Number.isNaN(date)) this.clockOffsetMs = date - Date.now();
    throw err;
  }

  destroy(): void {
    this.agents.destroy();
  }
}
