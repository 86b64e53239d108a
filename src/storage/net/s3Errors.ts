/**
 * What an S3 host's refusals mean for the person running the server, as AppErrors. The SDK gives
 * the S3 error code as `name` and the HTTP status in `$metadata`; a HEAD has no body, so only its
 * status is known.
 */
import { AppError, AuthFailed, Unavailable } from "../../errors.ts";
import { isNetworkFailure, unavailable } from "./networkFailure.ts";

export interface S3Target {
  s3Endpoint: string;
  bucket: string;
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

export function s3Status(err: unknown): number | undefined {
  const e = err as SdkError;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/** Worth another attempt: no answer, or a host-side failure (5xx, 429, 408). */
export function s3Retryable(err: unknown): boolean {
  if (err instanceof AppError) return false;
  const status = s3Status(err);
  if (status === undefined) return isNetworkFailure(err);
  return status >= 500 || status === 429 || status === 408;
}

/** The clock-skew refusals: AWS's RequestTimeTooSkewed, Garage's "Date is too old". */
export function isClockSkew(code: string | undefined, message: string | undefined): boolean {
  return code === "RequestTimeTooSkewed" || /date is too old|too skewed|time.*skew/i.test(message ?? "");
}

export function clockSkewError(what: string): Unavailable {
  return new Unavailable(
    `${what} refused the request's time stamp: this computer's clock is too far from the host's. ` +
      "Set the clock right (for example enable NTP with `timedatectl set-ntp true`).",
  );
}

export function credentialsError(what: string, bucket: string, detail: string): AuthFailed {
  return new AuthFailed(
    `${what} refused these credentials for bucket "${bucket}" (${detail}): the access key or secret is wrong, ` +
      "or the key may not read and write this bucket. Check them with `aerogramme-local doctor`.",
  );
}

export function missingBucketError(what: string, bucket: string): Unavailable {
  return new Unavailable(
    `the bucket "${bucket}" does not exist at ${what}: create it ` +
      `(Garage: \`garage bucket create ${bucket}\` and \`garage bucket allow --read --write ${bucket} --key KEY\`).`,
  );
}

/** Any SDK failure that the operation itself did not handle, as an AppError. */
export function s3Failure(target: S3Target, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const what = `S3 at ${target.s3Endpoint}`;
  const e = err as SdkError;
  const status = s3Status(err);
  if (status === undefined) return unavailable(what, err);
  if (isClockSkew(e.name, e.message)) return clockSkewError(what);
  if (e.name === "NoSuchBucket") return missingBucketError(what, target.bucket);
  if (
    status === 401 ||
    status === 403 ||
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/.test(e.name ?? "")
  )
    return credentialsError(what, target.bucket, `HTTP ${status}${e.message ? `: ${e.message}` : ""}`);
  return new Unavailable(
    `${what} answered HTTP ${status} (${e.name ?? "error"}${e.message ? `: ${e.message}` : ""}) for bucket "${target.bucket}"`,
    { cause: err },
  );
}
