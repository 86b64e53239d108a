/**
 * The AWS SDK pieces the garage and s3 backends use, from their CommonJS builds through `require`.
 * The packages ship an ES module build too, which `import` would load file by file through Node
 * 20's ES module loader: @aws-sdk/client-s3 then costs ~150 ms of CPU to load against ~80, the two
 * @smithy packages ~40 against ~30, at every start of a process on Garage or S3 (the server, each
 * command that opens the account). Everything takes them from here, so that no process loads both
 * builds (their classes would then be two).
 */
import { createRequire } from "node:module";
import type * as ClientS3 from "@aws-sdk/client-s3";
import type * as ProtocolHttp from "@smithy/protocol-http";
import type * as SignatureV4Package from "@smithy/signature-v4";

const requireHere = createRequire(import.meta.url);
const s3 = requireHere("@aws-sdk/client-s3") as typeof ClientS3;
const http = requireHere("@smithy/protocol-http") as typeof ProtocolHttp;
const signing = requireHere("@smithy/signature-v4") as typeof SignatureV4Package;

export const {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} = s3;
export type S3Client = ClientS3.S3Client;
export const { HttpRequest } = http;
export type HttpRequest = ProtocolHttp.HttpRequest;
export const { SignatureV4 } = signing;
export type SignatureV4 = SignatureV4Package.SignatureV4;
