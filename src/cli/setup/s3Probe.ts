/**
 * Checks of an S3 bucket with the given credentials, for init (to re-ask the right question) and
 * doctor: does the host accept the credentials, does the bucket exist, can we write to it. Messages
 * name the endpoint and bucket, never the secret.
 */
import { randomBytes } from "node:crypto";
import type { StorageCredentials } from "../../storage/backendConfig.ts";
import { networkReason } from "./endpointCheck.ts";

export interface BucketTarget {
  s3Endpoint: string;
  region: string;
  bucket: string;
}

export type BucketVerdict =
  { ok: true } | { ok: false; problem: "unreachable" | "credentials" | "bucket" | "other"; message: string };

const TIMEOUT_MS = 10_000;

async function client(target: BucketTarget, credentials: StorageCredentials) {
  // The SDK warns on Node 20 about its releases of 2027; a person running init cannot act on that.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const { S3Client } = await import("../../storage/net/awsSdk.ts");
  return new S3Client({
    endpoint: target.s3Endpoint,
    region: target.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    forcePathStyle: true, // Garage and most self-hosted S3 serve buckets by path
    maxAttempts: 2,
  });
}

function verdictOf(err: unknown, target: BucketTarget): BucketVerdict {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined)
    return {
      ok: false,
      problem: "unreachable",
      message: `cannot reach S3 at ${target.s3Endpoint}: ${networkReason(err)}`,
    };
  if (status === 404 || e.name === "NoSuchBucket" || e.name === "NotFound")
    return {
      ok: false,
      problem: "bucket",
      message: `the bucket "${target.bucket}" does not exist at ${target.s3Endpoint}: create it first (Garage: \`garage bucket create ${target.bucket}\` and \`garage bucket allow --read --write ${target.bucket} --key KEY\`)`,
    };
  if (
    status === 403 ||
    status === 401 ||
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/.test(e.name ?? "")
  )
    return {
      ok: false,
      problem: "credentials",
      message: `${target.s3Endpoint} refused these credentials for bucket "${target.bucket}" (HTTP ${status}): check the access key id and secret key, and that the key may read and write this bucket`,
    };
  return {
    ok: false,
    problem: "other",
    message: `${target.s3Endpoint} answered HTTP ${status} (${e.name ?? "error"}) for bucket "${target.bucket}": check the region ("${target.region}") and the endpoint`,
  };
}

/** HeadBucket: right credentials, and the bucket exists. */
export async function checkBucket(
  target: BucketTarget,
  credentials: StorageCredentials,
): Promise<BucketVerdict> {
  const s3 = await client(target, credentials);
  const { HeadBucketCommand } = await import("../../storage/net/awsSdk.ts");
  try {
    await s3.send(new HeadBucketCommand({ Bucket: target.bucket }), {
      abortSignal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { ok: true };
  } catch (err) {
    return verdictOf(err, target);
  } finally {
    s3.destroy();
  }
}

/** Writes and deletes a small object under an opaque name. */
export async function checkWritable(
  target: BucketTarget,
  credentials: StorageCredentials,
): Promise<BucketVerdict> {
  const s3 = await client(target, credentials);
  const { PutObjectCommand, DeleteObjectCommand } = await import("../../storage/net/awsSdk.ts");
  const key = `probe/${randomBytes(12).toString("hex")}`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: new Uint8Array(16) }), {
      abortSignal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key }), {
      abortSignal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { ok: true };
  } catch (err) {
    const v = verdictOf(err, target);
    if (!v.ok && v.problem === "credentials")
      return {
        ...v,
        message: `the key may not write to bucket "${target.bucket}": allow it (Garage: \`garage bucket allow --write ${target.bucket} --key KEY\`)`,
      };
    return v;
  } finally {
    s3.destroy();
  }
}
