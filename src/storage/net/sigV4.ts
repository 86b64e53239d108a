/**
 * AWS Signature Version 4 (header-signed, HMAC-SHA256) for our own HTTP calls: K2V, and S3's
 * PutObject and GetObject. It signs as the SDK's `@smithy/signature-v4` does (same canonical
 * request, same headers added; test/storage/sigV4.test.ts holds the two to the same output) but
 * synchronously and with the signing key kept per day: the SDK's signer cost ~6% of the server's
 * main thread over sequential APPENDs on Garage (an HMAC of the secret for a cache key, a clone of
 * the request and several promises per call), and its large functions were among the longest
 * compiles of a fresh process (bench/notes.md).
 *
 * S3 signs the path as sent; every other service (K2V) signs it URI-encoded once more, after
 * dropping empty, "." and ".." segments.
 */
import { createHash, createHmac } from "node:crypto";
import type { StorageCredentials } from "../backendConfig.ts";

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
/** Set by the signer: a caller's value is replaced. */
const GENERATED = new Set(["authorization", "x-amz-date", "date"]);
/** Headers a proxy or the transport may change on the way, so never signed (as the SDK). */
const UNSIGNABLE = new Set([
  "authorization",
  "cache-control",
  "connection",
  "expect",
  "from",
  "keep-alive",
  "max-forwards",
  "pragma",
  "referer",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "x-amzn-trace-id",
]);

/** RFC 3986 escaping as SigV4 asks for it: encodeURIComponent plus !'()*. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export class SigV4Signer {
  private keyDay = "";
  private key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly service: "s3" | "k2v",
    private readonly region: string,
    private readonly credentials: StorageCredentials,
  ) {}

  /** The headers to send: the caller's, plus x-amz-date, x-amz-content-sha256 and authorization. */
  sign(spec: SignSpec): Record<string, string> {
    const longDate = spec.date
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "");
    const day = longDate.slice(0, 8);
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(spec.headers))
      if (!GENERATED.has(name.toLowerCase())) headers[name] = value;
    headers["x-amz-date"] = longDate;
    let payloadHash: string | undefined;
    for (const [name, value] of Object.entries(headers))
      if (name.toLowerCase() === CONTENT_SHA256) payloadHash = value;
    if (payloadHash === undefined) {
      payloadHash = spec.body ? createHash("sha256").update(spec.body).digest("hex") : EMPTY_SHA256;
      headers[CONTENT_SHA256] = payloadHash;
    }
    const canonical = new Map<string, string>();
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (UNSIGNABLE.has(lower) || lower.startsWith("proxy-") || lower.startsWith("sec-")) continue;
      canonical.set(
        lower,
        value
          .replace(/[\r\n]/g, " ")
          .replace(/[ \t]+/g, " ")
          .replace(/^ | $/g, ""),
      );
    }
    const names = [...canonical.keys()].sort();
    const signedHeaders = names.join(";");
    const request = [
      spec.method,
      this.canonicalPath(spec.path),
      canonicalQuery(spec.query ?? {}),
      ...names.map((n) => `${n}:${canonical.get(n)}`),
      "",
      signedHeaders,
      payloadHash,
    ].join("\n");
    const toSign = [
      "AWS4-HMAC-SHA256",
      longDate,
      scope,
      createHash("sha256").update(request).digest("hex"),
    ].join("\n");
    const signature = createHmac("sha256", this.signingKey(day)).update(toSign).digest("hex");
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** The key of one day: four HMACs, made again only when the date changes. */
  private signingKey(day: string): Buffer {
    if (day === this.keyDay) return this.key;
    let key: Buffer = Buffer.from(`AWS4${this.credentials.secretAccessKey}`);
    for (const part of [day, this.region, this.service, "aws4_request"])
      key = createHmac("sha256", key).update(part).digest();
    this.keyDay = day;
    this.key = key;
    return key;
  }

  private canonicalPath(path: string): string {
    if (this.service === "s3") return path;
    const segments: string[] = [];
    for (const segment of path.split("/")) {
      if (segment === "" || segment === ".") continue;
      if (segment === "..") segments.pop();
      else segments.push(segment);
    }
    const normalised =
      (path.startsWith("/") ? "/" : "") +
      segments.join("/") +
      (segments.length > 0 && path.endsWith("/") ? "/" : "");
    return escapeUri(normalised).replace(/%2F/g, "/");
  }
}

/** Parameters sorted by escaped name, each `name=value` escaped; the signature's own left out. */
function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .filter((k) => k.toLowerCase() !== "x-amz-signature")
    .map((k) => [escapeUri(k), escapeUri(query[k]!)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}
