/**
 * Garage's causality tokens (k2v-spec "Encoding of contexts"): URL-safe base64 without padding of
 * a u64 checksum followed by (node, timestamp) u64 pairs, the checksum being the XOR of all of
 * them. We check the shape before sending, so a malformed token is refused here with Invalid
 * rather than by a round trip; the host stays the judge of what a token means.
 */
import { Invalid } from "../../errors.ts";
import type { CausalityToken } from "../types.ts";

/** The empty context: it covers nothing, so a poll with it wakes on any write to the row. */
export const EMPTY_TOKEN: CausalityToken = Buffer.alloc(8).toString("base64url");

export function checkToken(token: CausalityToken | undefined): void {
  if (token === undefined) return;
  const bad = () => new Invalid(`malformed causality token "${token.slice(0, 40)}"`);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  const bytes = Buffer.from(token, "base64url");
  if (bytes.length < 8 || bytes.length % 16 !== 8) throw bad();
  let xor = 0n;
  for (let at = 8; at < bytes.length; at += 8) xor ^= bytes.readBigUInt64BE(at);
  if (xor !== bytes.readBigUInt64BE(0)) throw bad();
}
