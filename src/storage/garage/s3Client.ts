/**
 * The S3 client of the garage and s3 backends: path-style addressing (Garage and most self-hosted
 * hosts serve buckets by path), keep-alive sockets bounded by the store's concurrency, and no SDK
 * retries or clock correction (ours are in s3BlobStore.ts, and clock skew must be reported, not
 * hidden: K2V has no such correction).
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import type { StorageCredentials } from "../backendConfig.ts";
import type { NetOptions } from "./netOptions.ts";

export interface S3Endpoint {
  s3Endpoint: string;
  region: string;
}

export function makeS3Client(
  target: S3Endpoint,
  credentials: StorageCredentials,
  net: NetOptions,
  clockOffsetMs = 0,
): S3Client {
  // The SDK warns on Node 20 about its releases of 2027; a person running the server cannot act on it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const agentOptions = { keepAlive: true, maxSockets: net.concurrency };
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
