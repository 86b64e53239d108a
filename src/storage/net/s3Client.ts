/**
 * The S3 client of the garage and s3 backends: path-style addressing (Garage and most self-hosted
 * hosts serve buckets by path), keep-alive sockets bounded by the store's concurrency (except for
 * reads on loopback, see makeS3Clients), and no SDK
 * retries or clock correction (ours are in s3BlobStore.ts, and clock skew must be reported, not
 * hidden: K2V has no such correction).
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import type { StorageCredentials } from "../backendConfig.ts";
import type { NetOptions } from "./netOptions.ts";
import { S3Putter } from "./s3Put.ts";

export interface S3Endpoint {
  s3Endpoint: string;
  region: string;
}

export function makeS3Client(
  target: S3Endpoint,
  credentials: StorageCredentials,
  net: NetOptions,
  clockOffsetMs = 0,
  keepAlive = !isLoopback(target.s3Endpoint),
): S3Client {
  // The SDK warns on Node 20 about its releases of 2027; a person running the server cannot act on it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const agentOptions = { keepAlive, maxSockets: net.concurrency };
  return new S3Client({
    endpoint: target.s3Endpoint,
    region: target.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    forcePathStyle: true,
    maxAttempts: 1,
    systemClockOffset: clockOffsetMs,
    // Checksum headers only where S3 demands them: not every S3 host knows the newer ones.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      // The deadline of a whole call is ours (timed.ts); the SDK's requestTimeout only warns.
      connectionTimeout: Math.min(net.timeoutMs, 5_000),
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  });
}

/**
 * The clients of a store: `reads` for calls answered with a body (GET, LIST), `writes` for the
 * rest, and `put` for PutObject without the SDK (s3Put.ts).
 */
export interface S3Clients {
  writes: S3Client;
  reads: S3Client;
  put: S3Putter;
}

/**
 * A store's clients. Every connection is kept alive and reused, except on loopback for calls
 * answered with a body (see isLoopback): those get a fresh connection each, the others (PUT, HEAD,
 * DELETE, COPY: no body to stall) still reuse theirs. Before, on loopback, every call opened a
 * connection: 500 APPENDs to a local Garage opened 538.
 */
export function makeS3Clients(
  target: S3Endpoint,
  credentials: StorageCredentials,
  net: NetOptions,
  clockOffsetMs = 0,
): S3Clients {
  const writes = makeS3Client(target, credentials, net, clockOffsetMs, true);
  const reads = isLoopback(target.s3Endpoint)
    ? makeS3Client(target, credentials, net, clockOffsetMs, false)
    : writes;
  return { writes, reads, put: new S3Putter(target, credentials, clockOffsetMs) };
}

/**
 * Measured against Garage on 127.0.0.1: a GET whose body is smaller than one TCP segment (64 KiB
 * on loopback) takes 45 ms on a reused connection and 3 ms on a fresh one. Garage writes headers
 * and body separately, so the body waits for the ACK of the headers, which the client delays by
 * 40 ms once a connection has settled. Between machines a segment is 1.5 KB and the stall all but
 * disappears, while a new connection costs round trips: keep-alive stays on there.
 */
function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === "localhost" || host === "[::1]" || /^127\./.test(host);
}
