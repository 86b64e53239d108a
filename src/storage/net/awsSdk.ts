/**
 * The AWS SDK client the garage and s3 backends use for their rarer S3 calls (PUT and GET go
 * without it, signed by sigV4.ts), from its CommonJS build through `require`.
 * The packages ship an ES module build too, which `import` would load file by file through Node
 * 20's ES module loader: @aws-sdk/client-s3 then costs ~150 ms of CPU to load against ~80, at
 * every start of a process on Garage or S3 (the server, each
 * command that opens the account). Everything takes them from here, so that no process loads both
 * builds (their classes would then be two).
 */
import { createRequire } from "node:module";
import type * as ClientS3 from "@aws-sdk/client-s3";

const requireHere = createRequire(import.meta.url);
const s3 = requireHere("@aws-sdk/client-s3") as typeof ClientS3;

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
