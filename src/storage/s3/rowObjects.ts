/**
 * How the s3 backend lays rows out as S3 objects; the scheme itself is described in
 * objectRowStore.ts. Pure functions: object names, version ids, causality tokens and the body of
 * one version object.
 *
 * Partition and sort keys are written as the lowercase hex of their UTF-8 bytes. Hex keeps the
 * byte order (two digits per byte, digits in ASCII order), keeps prefixes (a sort-key prefix is a
 * name prefix), and leaves no character that S3 hosts treat specially. Sort keys up to about
 * 450 bytes fit S3's 1,024-byte names.
 */
import { randomBytes } from "node:crypto";
import { Invalid, Tampered } from "../../errors.ts";
import type { CausalityToken } from "../types.ts";

export const ROWS_PREFIX = "rows/";
/** A version id: 12 hex digits of milliseconds then 16 of randomness (sorts by write time). */
const VERSION_HEX = 28;
const VERSION_BYTES = VERSION_HEX / 2;
const TOKEN_PREFIX = "s1.";

export const toHex = (text: string): string => Buffer.from(text, "utf8").toString("hex");
export const fromHex = (hex: string): string => Buffer.from(hex, "hex").toString("utf8");

export function partitionPrefix(pk: string): string {
  return `${ROWS_PREFIX}${toHex(pk)}/`;
}

/** The names of one row's version objects all start with this. */
export function rowPrefix(pk: string, sk: string): string {
  return `${partitionPrefix(pk)}${toHex(sk)}/`;
}

export function newVersionId(now = Date.now()): string {
  return now.toString(16).padStart(12, "0").slice(-12) + randomBytes(8).toString("hex");
}

/** Splits a version object's name (inside a partition) into its sort key (hex) and version id. */
export function parseObjectName(partition: string, name: string): { skHex: string; version: string } | null {
  if (!name.startsWith(partition)) return null;
  const rest = name.slice(partition.length);
  const slash = rest.lastIndexOf("/");
  if (slash < 0) return null;
  const skHex = rest.slice(0, slash);
  const version = rest.slice(slash + 1);
  if (!/^([0-9a-f]{2})*$/.test(skHex) || !/^[0-9a-f]{28}$/.test(version)) return null;
  return { skHex, version };
}

/** A token is the set of version ids a read saw alive. */
export function encodeToken(versions: string[]): CausalityToken {
  return TOKEN_PREFIX + Buffer.from([...versions].sort().join(""), "hex").toString("base64url");
}

export function decodeToken(token: CausalityToken | undefined): Set<string> {
  if (token === undefined) return new Set();
  const bad = () => new Invalid(`malformed causality token "${token.slice(0, 40)}"`);
  if (!token.startsWith(TOKEN_PREFIX)) throw bad();
  const body = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw bad();
  const bytes = Buffer.from(body, "base64url");
  if (bytes.length % VERSION_BYTES !== 0) throw bad();
  const versions = new Set<string>();
  for (let at = 0; at < bytes.length; at += VERSION_BYTES)
    versions.add(bytes.subarray(at, at + VERSION_BYTES).toString("hex"));
  return versions;
}

/** One write: which versions it supersedes, and its value (null for a tombstone). */
export interface VersionBody {
  supersedes: string[];
  value: Uint8Array | null;
}

/** A JSON header line, then the value's bytes as they are. */
export function encodeVersion(body: VersionBody): Uint8Array {
  const header = JSON.stringify({ s: body.supersedes, ...(body.value === null ? { d: 1 } : {}) });
  const head = Buffer.from(`${header}\n`, "utf8");
  const out = new Uint8Array(head.length + (body.value?.length ?? 0));
  out.set(head, 0);
  if (body.value) out.set(body.value, head.length);
  return out;
}

export function decodeVersion(name: string, bytes: Uint8Array): VersionBody {
  const newline = bytes.indexOf(0x0a);
  const bad = () => new Tampered(`the row version object ${name} is not in the s3 backend's format`);
  if (newline < 0) throw bad();
  let header: { s?: unknown; d?: unknown };
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(0, newline)).toString("utf8")) as typeof header;
  } catch {
    throw bad();
  }
  if (!Array.isArray(header.s) || !header.s.every((v) => typeof v === "string")) throw bad();
  return {
    supersedes: header.s,
    value: header.d === 1 ? null : Uint8Array.from(bytes.subarray(newline + 1)),
  };
}
