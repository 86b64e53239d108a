/**
 * S3 GetObject without the SDK, as s3Put.ts does PutObject: a path-style GET (ranged or whole),
 * signed with SigV4 and sent over node:http (httpCall.ts). A cold first sync makes one GET per
 * body (240 for the bench's 200 newest), and the SDK's GET cost 2.4-2.9 ms of CPU per 40 kB body
 * against 0.77 ms for this path, 400 GETs, 8 at a time, to a server on 127.0.0.1 (issue 11,
 * wt-cold): on a small machine that CPU, not the link, bounded a FETCH of many bodies.
 *
 * The answer is the SDK's: a missing key is null, a range past the end an empty array, a refusal
 * an S3HttpError that s3Errors.ts maps as it maps the SDK's errors.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { StorageCredentials } from "../backendConfig.ts";
import type { ByteRange } from "../types.ts";
import { EarlyAckAgent } from "./earlyAck.ts";
import { httpCall, type AgentSource } from "./httpCall.ts";
import { isClockSkew } from "./s3Errors.ts";
import { escapeKey, S3HttpError, xmlField } from "./s3Put.ts";
import { SigV4Signer } from "./sigV4.ts";

export interface GetOptions {
  range?: ByteRange;
  signal: AbortSignal;
  /** Called when the headers arrive, with the body's length if the host sent it. */
  onHeaders?: (contentLength: number | undefined) => void;
}

export class S3Getter {
  private readonly signer: SigV4Signer;
  private readonly base: URL;
  private readonly agents: AgentSource & { destroy(): void };

  /** `ackHeadersEarly`: a host on this computer (see earlyAck.ts and makeS3Clients). */
  constructor(
    target: { s3Endpoint: string; region: string },
    credentials: StorageCredentials,
    maxSockets: number,
    ackHeadersEarly: boolean,
    private clockOffsetMs = 0,
  ) {
    this.signer = new SigV4Signer("s3", target.region, credentials);
    this.base = new URL(target.s3Endpoint.replace(/\/+$/, "") + "/");
    const options = { keepAlive: true, maxSockets };
    const http = ackHeadersEarly ? new EarlyAckAgent(options) : new HttpAgent(options);
    const https = new HttpsAgent(options);
    this.agents = {
      forUrl: (url) => (url.protocol === "https:" ? https : http),
      destroy: () => {
        http.destroy();
        https.destroy();
      },
    };
  }

  /** One attempt (the caller retries and times out): the object's bytes, or null if absent. */
  async get(bucket: string, key: string, options: GetOptions): Promise<Uint8Array | null> {
    const path = `${this.base.pathname}${escapeKey(bucket)}/${escapeKey(key)}`;
    const { range } = options;
    const headers: Record<string, string> = { host: this.base.host };
    if (range) headers.range = `bytes=${range.start}-${range.end ?? ""}`;
    const signed = this.signer.sign({
      method: "GET",
      path,
      headers,
      date: new Date(Date.now() + this.clockOffsetMs),
    });
    const answer = await httpCall(this.agents, {
      method: "GET",
      url: new URL(`${this.base.origin}${path}`),
      headers: signed,
      signal: options.signal,
      onResponse: (status, h) => {
        if (status !== 200 && status !== 206) return;
        const length = Number(h.get("content-length") ?? NaN);
        options.onHeaders?.(Number.isFinite(length) ? length : undefined);
      },
    });
    // A plain Uint8Array, as the SDK path returns (callers compare and copy it).
    const { body } = answer;
    if (answer.status === 200 || answer.status === 206)
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    // A range that starts at or past the end: the object exists, the span is empty.
    const xml = new TextDecoder().decode(body);
    const code = xmlField(xml, "Code");
    if (answer.status === 416 || code === "InvalidRange") return new Uint8Array(0);
    if (answer.status === 404 && code === "NoSuchKey") return null;
    const err = new S3HttpError(answer.status, code, xmlField(xml, "Message") ?? "");
    // As s3Put.ts does: this call fails with the clock message, later ones sign with the host's time.
    const date = Date.parse(answer.headers.get("date") ?? "");
    if (isClockSkew(err.name, err.message) && !Number.isNaN(date)) this.clockOffsetMs = date - Date.now();
    throw err;
  }

  destroy(): void {
    this.agents.destroy();
  }
}
