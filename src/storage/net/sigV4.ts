/**
 * The SigV4 signer of our own HTTP calls (K2V, and S3's PutObject): node:crypto's SHA-256, one
 * region and one key pair. S3, unlike the other services, signs the path as sent, not encoded a
 * second time.
 */
import type { StorageCredentials } from "../backendConfig.ts";
import { SignatureV4 } from "./awsSdk.ts";
import { NodeSha256 } from "./nodeSha256.ts";

export function sigV4Signer(
  service: "s3" | "k2v",
  region: string,
  credentials: StorageCredentials,
): SignatureV4 {
  return new SignatureV4({
    service,
    region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    sha256: NodeSha256,
    uriEscapePath: service !== "s3",
  });
}
