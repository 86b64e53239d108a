/**
 * AWS Signature Version 4 (header-signed, HMAC-SHA256) for our own HTTP calls: K2V, and S3's
 * PutObject and GetObject, through the `aws4` package (synchronous, no dependencies; its signing
 * keys are kept per day in a small LRU of its own). This file only shapes our requests for it so
 * that the headers come out as the SDK's `@smithy/signature-v4` made them before
 * (test/storage/sigV4.test.ts holds the two to the same output): the date and the payload's
 * SHA-256 are set here as headers, which aws4 then uses and signs, and the set of signed headers
 * is the SDK's. The SDK's signer cost ~6% of the server's main thread over sequential APPENDs on
 * Garage (bench/notes.md).
 *
 * aws4 signs an S3 path as sent (decoded and encoded again, which leaves our already canonical
 * paths as they are), and every other service's (K2V) URI-encoded once more, after dropping empty,
 * "." and ".." segments.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type * as Aws4 from "aws4";
import type { StorageCredentials } from "../backendConfig.ts";

/** Loaded through `require`, as the other CommonJS packages (docs/architecture.md). */
const aws4 = createRequire(import.meta.url)("aws4") as typeof Aws4;

/** Two options of aws4 1.13 that @types/aws4 does not list: header names, lower case. */
interface Aws4Request extends Aws4.Request {
  extraHeadersToIgnore?: Record<string, boolean>;
  extraHeadersToInclude?: Record<string, boolean>;
}

export interface SignSpec {
  method: string;
  /** The path as sent, already escaped. */
  path: string;
  /** Query parameters, unescaped. */
  query?: Record<string, string>;
  /** Headers to send, host included; all of them are signed except the unsignable ones. */
  headers: Record<string, string>;
  body?: Uint8Array;
  date: Date;
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const CONTENT_SHA256 = "x-amz-content-sha256";
/** Set by the signer: a caller's value is dropped (aws4 would otherwise sign with its date). */
const GENERATED = new Set(["authorization", "x-amz-date", "date"]);
/**
 * Headers a proxy or the transport may change on the way, never signed: the SDK's list, which is
 * aws4's and a few more. aws4 leaves out `range` too; the SDK signs it, and so do we.
 */
const UNSIGNABLE = new Set([
  "cache-control",
  "from",
  "keep-alive",
  "max-forwards",
  "pragma",
  "referer",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const SIGNED_RANGE: Record<string, boolean> = Object.assign(Object.create(null) as object, {
  range: true,
});

export class SigV4Signer {
  constructor(
    private readonly service: "s3" | "k2v",
    private readonly region: string,
    private readonly credentials: StorageCredentials,
  ) {}

  /** The headers to send: the caller's and x-amz-date, x-amz-content-sha256 (names in lower
   * case), and aws4's `Authorization`. */
  sign(spec: SignSpec): Record<string, string> {
    const headers: Record<string, string> = {};
    const ignore = Object.create(null) as Record<string, boolean>;
    for (const [name, value] of Object.entries(spec.headers)) {
      const lower = name.toLowerCase();
      if (GENERATED.has(lower)) continue;
      headers[lower] = value;
      if (UNSIGNABLE.has(lower) || lower.startsWith("proxy-") || lower.startsWith("sec-"))
        ignore[lower] = true;
    }
    headers["x-amz-date"] = spec.date
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "");
    headers[CONTENT_SHA256] ??= spec.body
      ? createHash("sha256").update(spec.body).digest("hex")
      : EMPTY_SHA256;
    const request: Aws4Request = {
      service: this.service,
      region: this.region,
      method: spec.method,
      path: spec.path + queryString(spec.query),
      headers,
      extraHeadersToIgnore: ignore,
      extraHeadersToInclude: SIGNED_RANGE,
    };
    return aws4.sign(request, this.credentials).headers as Record<string, string>;
  }
}

/** `?name=value&...` for aws4 to parse back (it signs the parameters, sorted and escaped). */
function queryString(query: Record<string, string> | undefined): string {
  if (query === undefined) return "";
  const pairs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return pairs.length > 0 ? `?${pairs.join("&")}` : "";
}
