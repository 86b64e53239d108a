/**
 * What K2V's refusals mean, as AppErrors. Garage answers errors with a JSON body
 * `{ code, message, region, path }`; the code tells a missing item (NoSuchKey, an ordinary answer)
 * from a missing bucket, both HTTP 404.
 */
import { AppError, Invalid, Unavailable } from "../../errors.ts";
import type { HttpAnswer } from "../net/httpCall.ts";
import { isNetworkFailure, unavailable } from "../net/networkFailure.ts";
import { clockSkewError, credentialsError, isClockSkew, missingBucketError } from "../net/s3Errors.ts";

/** An HTTP error answer from K2V, before it is given a meaning. */
export class K2vHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly detail: string,
    /** The host's clock, from the answer's Date header. */
    readonly serverDate?: number,
  ) {
    super(`HTTP ${status}${code ? ` ${code}` : ""}${detail ? `: ${detail}` : ""}`);
    this.name = "K2vHttpError";
  }
}

export function readHttpError(res: HttpAnswer): K2vHttpError {
  const text = new TextDecoder().decode(res.body);
  const date = Date.parse(res.headers.get("date") ?? "");
  const serverDate = Number.isNaN(date) ? undefined : date;
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    return new K2vHttpError(
      res.status,
      typeof body.code === "string" ? body.code : undefined,
      typeof body.message === "string" ? body.message : "",
      serverDate,
    );
  } catch {
    return new K2vHttpError(res.status, undefined, text.slice(0, 200), serverDate);
  }
}

export function k2vRetryable(err: unknown): boolean {
  if (err instanceof AppError) return false;
  if (err instanceof K2vHttpError) return err.status >= 500 || err.status === 429 || err.status === 408;
  return isNetworkFailure(err);
}

export function k2vFailure(target: { k2vEndpoint: string; bucket: string }, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const what = `Garage K2V at ${target.k2vEndpoint}`;
  if (!(err instanceof K2vHttpError))
    return unavailable(
      what,
      err,
      "Is Garage running, and is its K2V API enabled (`[k2v_api]` in garage.toml)? Without K2V, use the s3 backend.",
    );
  if (isClockSkew(err.code, err.detail)) return clockSkewError(what);
  if (err.code === "NoSuchBucket") return missingBucketError(what, target.bucket);
  if (err.status === 401 || err.status === 403) return credentialsError(what, target.bucket, err.message);
  if (err.status === 400 && /causality token/i.test(err.detail))
    return new Invalid(`${what} refused a causality token: ${err.detail}`);
  return new Unavailable(`${what} answered ${err.message}`, { cause: err });
}
