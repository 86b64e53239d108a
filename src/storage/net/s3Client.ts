/**
 * The S3 client of the garage and s3 backends: path-style addressing (Garage and most self-hosted
 * hosts serve buckets by path), keep-alive sockets bounded by the store's pool (reads from a
 * host on this computer ack response headers early, see makeS3Clients), and no SDK
 * retries or clock correction (ours are in s3BlobStore.ts, and clock skew must be reported, not
 * hidden: K2V has no such correction).
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { StorageCredentials } from "../backendConfig.ts";
import { S3Client } from "./awsSdk.ts";
import { EarlyAckAgent } from "./earlyAck.ts";
import type { NetOptions } from "./netOptions.ts";
import { S3Getter } from "./s3Get.ts";
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
  ackHeadersEarly = false,
): S3Client {
  // The SDK warns on Node 20 about its releases of 2027; a person running the server cannot act on it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // The store's pool bounds the calls; its size follows the round trip (roundTrip.ts).
  const agentOptions = { keepAlive: true, maxSockets: Math.max(net.concurrency, net.maxConcurrency) };
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
      httpAgent: ackHeadersEarly ? new EarlyAckAgent(agentOptions) : new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  });
}

/**
 * The clients of a store: `reads` for LIST, `writes` for the rest, and `put` and `get` for
 * PutObject and GetObject without the SDK (s3Put.ts, s3Get.ts).
 */
export interface S3Clients {
  writes: S3Client;
  reads: S3Client;
  put: S3Putter;
  get: S3Getter;
}

/**
 * A store's clients. Every connection is kept alive and reused. To a host on this computer, reads
 * go through an agent that acks response headers at once (earlyAck.ts): there a GET whose body is
 * under one 64 KiB segment otherwise waits 40 ms on a reused connection. Before that agent, reads
 * on loopback opened a fresh connection each (152 of them for the 200 newest bodies of a bench
 * sync); writes answer with headers only and never stalled.
 */
export function makeS3Clients(
  target: S3Endpoint,
  credentials: StorageCredentials,
  net: NetOptions,
  clockOffsetMs = 0,
): S3Clients {
  const writes = makeS3Client(target, credentials, net, clockOffsetMs);
  const loopback = isLoopback(target.s3Endpoint);
  const reads = loopback ? makeS3Client(target, credentials, net, clockOffsetMs, true) : writes;
  const sockets = Math.max(net.concurrency, net.maxConcurrency);
  return {
    writes,
    reads,
    put: new S3Putter(target, credentials, clockOffsetMs),
    get: new S3Getter(target, credentials, sockets, loopback, clockOffsetMs),
  };
}

/**
 * The stall needs a body under one segment: 64 KiB on loopback. Between machines a segment is
 * ~1.5 kB, the client acks every second full one at once, and so the headers are acked with the
 * body's first segments whatever we do: the early ack gains nothing there.
 */
function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === "localhost" || host === "[::1]" || /^127\./.test(host);
}
