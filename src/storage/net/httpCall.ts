/**
 * One HTTP/1.1 request over node:http (or node:https), its whole answer read into memory: the
 * transport of the K2V client and of S3 PUTs (s3Put.ts). Node's global `fetch` (undici) cost
 * about 1.05 ms of CPU per small call here against 0.26 ms for node:http with a keep-alive
 * agent, measured with 1,000 PUTs of 512 bytes to a server in another process; an APPEND makes
 * three calls and the machines it runs on are small.
 *
 * Errors are node's own (ECONNREFUSED, ECONNRESET...: networkFailure.ts knows them); an abort
 * through `signal` ends the call with the signal's reason.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
  body: Uint8Array;
}

export interface HttpRequestSpec {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** Send this call on a connection of its own, closed after it (see the loopback note in s3Client.ts). */
  fresh?: boolean;
  /** Called when the response headers arrive, before the body is read (a GET's timeout, timing). */
  onResponse?: (status: number, headers: HttpAnswer["headers"]) => void;
}

/** Where a call finds its keep-alive agent (HttpAgents, or a client's own: s3Get.ts). */
export interface AgentSource {
  forUrl(url: URL): HttpAgent | HttpsAgent;
}

/** The agents of one client: keep-alive, sockets unbounded (the caller's Limiter bounds calls). */
export class HttpAgents {
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });

  forUrl(url: URL): HttpAgent | HttpsAgent {
    return url.protocol === "https:" ? this.https : this.http;
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

function headerGetter(headers: IncomingHttpHeaders): HttpAnswer["headers"] {
  return {
    get(name: string) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}

export function httpCall(agents: AgentSource, spec: HttpRequestSpec): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const { url, signal } = spec;
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...spec.headers };
    headers["content-length"] = String(spec.body?.length ?? 0);
    if (spec.fresh) headers.connection = "close";
    const req = send(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: spec.method,
        headers,
        agent: spec.fresh ? false : agents.forUrl(url),
      },
      (res) => {
        spec.onResponse?.(res.statusCode ?? 0, headerGetter(res.headers));
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", fail);
        res.on("end", () => {
          signal?.removeEventListener("abort", onAbort);
          resolve({
            status: res.statusCode ?? 0,
            headers: headerGetter(res.headers),
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        });
      },
    );
    function fail(err: Error) {
      signal?.removeEventListener("abort", onAbort);
      reject(err);
    }
    function onAbort() {
      req.destroy(abortReason(signal!));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    req.setNoDelay(true);
    req.on("error", fail);
    req.end(
      spec.body ? Buffer.from(spec.body.buffer, spec.body.byteOffset, spec.body.byteLength) : undefined,
    );
  });
}
