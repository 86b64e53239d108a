/**
 * CPU of signing one APPEND's two calls (a 50 KB S3 PUT and a K2V InsertBatch of ~5 KB), ours
 * (src/storage/net/sigV4.ts over the aws4 package) against the SDK's signer it replaced, in a fresh process each: the
 * first `cold` rounds (a fresh server's first APPENDs, before V8 optimises) and `warm` rounds after.
 *
 *   node --import tsx bench/measureSigning.ts [ours|sdk] [cold=200] [warm=5000]
 */
import { SigV4Signer, type SignSpec } from "../src/storage/net/sigV4.ts";
import { sdkSigner } from "../test/support/sdkSigV4.ts";

const which = process.argv[2] ?? "ours";
const cold = Number(process.argv[3] ?? 200);
const warm = Number(process.argv[4] ?? 5000);
const credentials = { accessKeyId: "GK0123456789abcdef01234567", secretAccessKey: "f".repeat(64) };
const body = new Uint8Array(50 * 1024).fill(7);
const rows = new Uint8Array(5 * 1024).fill(9);
const put = (date: Date): SignSpec => ({
  method: "PUT",
  path: "/bucket/mail/0123456789abcdef0123456789abcdef",
  headers: { host: "127.0.0.1:3900", "content-type": "application/octet-stream", "content-length": "51200" },
  body,
  date,
});
const batch = (date: Date): SignSpec => ({
  method: "POST",
  path: "/bucket",
  headers: { host: "127.0.0.1:3904", "content-type": "application/json" },
  body: rows,
  date,
});

type Sign = (service: "s3" | "k2v", spec: SignSpec) => unknown;
let sign: Sign;
if (which === "sdk") {
  const signers = {
    s3: sdkSigner("s3", "garage", credentials),
    k2v: sdkSigner("k2v", "garage", credentials),
  };
  sign = (service, spec) => signers[service](spec);
} else {
  const signers = {
    s3: new SigV4Signer("s3", "garage", credentials),
    k2v: new SigV4Signer("k2v", "garage", credentials),
  };
  sign = (service, spec) => signers[service].sign(spec);
}

async function rounds(n: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const date = new Date();
    await sign("s3", put(date));
    await sign("k2v", batch(date));
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}

const first = await rounds(cold);
const later = await rounds(warm);
console.log(
  `${which}: CPU per APPEND's two signatures: first ${cold} ${first.toFixed(3)} ms, next ${warm} ${later.toFixed(3)} ms`,
);
