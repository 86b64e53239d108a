/**
 * `init --tls`: a self-signed certificate for 127.0.0.1, ::1 and localhost, so STARTTLS works on
 * this computer. The person checks its SHA-256 fingerprint once in Thunderbird's exception dialog.
 */
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";

export interface MadeCertificate {
  certFile: string;
  keyFile: string;
  /** "AB:CD:..." as browsers and Thunderbird show it. */
  sha256Fingerprint: string;
  notAfter: string;
}

const VALID_DAYS = 825; // the longest lifetime Apple platforms accept for a TLS server certificate

export async function makeSelfSignedCertificate(certFile: string, keyFile: string): Promise<MadeCertificate> {
  const { generate } = await import("selfsigned");
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALID_DAYS * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  await writePrivate(keyFile, pems.private);
  // The certificate is public, but its folder is the home's: like every file there, 0600 (issue 12).
  await writePrivate(certFile, pems.cert);
  const x509 = new X509Certificate(pems.cert);
  return { certFile, keyFile, sha256Fingerprint: x509.fingerprint256, notAfter: x509.validTo };
}

/** SHA-256 fingerprint and expiry of a PEM certificate (for `status` and `doctor`). */
export function describeCertificate(pem: string | Buffer): { sha256Fingerprint: string; notAfter: Date } {
  const x509 = new X509Certificate(pem);
  return { sha256Fingerprint: x509.fingerprint256, notAfter: new Date(x509.validTo) };
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFileMode(path, text, 0o600);
}

async function writeFileMode(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Created with its final mode so the key is never readable by others, even for a moment.
  const handle = await open(path, "w", mode);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  await chmod(path, mode);
}
