/**
 * The AWS SDK's SigV4 signer (@smithy/signature-v4) in the shape of ours (src/storage/net/sigV4.ts):
 * what test/storage/sigV4.test.ts holds ours to, and what bench/measureSigning.ts measures against.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { createRequire } from "node:module";
import type * as ProtocolHttp from "@smithy/protocol-http";
import type * as SignatureV4Package from "@smithy/signature-v4";
import type { StorageCredentials } from "../../src/storage/backendConfig.ts";
import type { SignSpec } from "../../src/storage/net/sigV4.ts";

const requireHere = createRequire(import.meta.url);
const { HttpRequest } = requireHere("@smithy/protocol-http") as typeof ProtocolHttp;
const { SignatureV4 } = requireHere("@smithy/signature-v4") as typeof SignatureV4Package;

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): string | Uint8Array =>
  typeof d === "string"
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

/** The SDK's sha256 shape over node:crypto (the signer asks for a constructor). */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(secret));
  }
  update(data: SourceData) {
    this.hash.update(bytesOf(data));
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset() {}
}

/** Signs as the SDK does: S3 signs the path as sent, other services (K2V) encode it again. */
export function sdkSigner(
  service: "s3" | "k2v",
  region: string,
  credentials: StorageCredentials,
): (spec: SignSpec) => Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service,
    region,
    credentials,
    sha256: Sha256,
    uriEscapePath: service !== "s3",
  });
  return async (spec) => {
    const signed = await signer.sign(
      new HttpRequest({
        method: spec.method,
        protocol: "http:",
        hostname: "127.0.0.1",
        path: spec.path,
        query: spec.query ?? {},
        headers: spec.headers,
        ...(spec.body ? { body: spec.body } : {}),
      }),
      { signingDate: spec.date },
    );
    return signed.headers;
  };
}
