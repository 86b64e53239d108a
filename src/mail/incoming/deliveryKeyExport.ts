/**
 * How the account's public key travels to a mail host that must not hold the password (issue 13):
 * `export-delivery-key` writes it to a file with its fingerprint, `status` shows the fingerprint,
 * and `init --delivery-only` pins the key it finds in storage's key root only when it matches the
 * file or the fingerprint the user copied. The key is public: the file opens nothing. What it
 * guards against is a storage host that swaps keys/root before the mail host first reads it.
 *
 * The fingerprint is the first 16 bytes of SHA-256 over a label and the key, shown as eight groups
 * of four hex digits: 128 bits, so a host would need a second preimage to forge a matching key.
 */
import { createHash } from "node:crypto";
import { parseKeyRoot } from "../../crypto/keyRoot.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { Invalid, NotFound, Tampered } from "../../errors.ts";
import type { Store } from "../../storage/types.ts";

const LABEL = "aerogramme-local delivery key fingerprint v1\n";

export function deliveryKeyFingerprint(publicKey: Uint8Array): string {
  const digest = createHash("sha256").update(LABEL).update(publicKey).digest("hex").slice(0, 32);
  return digest.match(/.{4}/g)!.join("-");
}

/** The fingerprint as typed or pasted (any case, spaces, colons or dashes between digits), or undefined. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.toLowerCase().replace(/[\s:-]/g, "");
  return /^[0-9a-f]{32}$/.test(hex) ? hex.match(/.{4}/g)!.join("-") : undefined;
}

export interface ExportedDeliveryKey {
  user: string;
  publicKey: Uint8Array;
}

export function formatDeliveryKeyFile(key: ExportedDeliveryKey): string {
  return [
    "# aerogramme-local delivery key: the account's public key, for a mail host's",
    "# `aerogramme-local init --delivery-only --delivery-key FILE`. It opens no mail.",
    `user ${key.user}`,
    `public-key ${Buffer.from(key.publicKey).toString("hex")}`,
    `fingerprint ${deliveryKeyFingerprint(key.publicKey)}`,
    "",
  ].join("\n");
}

/** Invalid when the file is not one, or when its fingerprint line does not match its key. */
export function parseDeliveryKeyFile(text: string): ExportedDeliveryKey {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const m = /^([a-z-]+) (.+)$/.exec(line.trim());
    if (!m)
      throw new Invalid(`not a delivery key file (the line "${line.slice(0, 40)}" is not "name value")`);
    fields.set(m[1]!, m[2]!);
  }
  const hex = fields.get("public-key");
  const user = fields.get("user");
  if (!hex || !/^[0-9a-f]{64}$/.test(hex) || !user)
    throw new Invalid(
      "not a delivery key file: it needs a `user` line and a `public-key` line of 64 hex digits",
    );
  const publicKey = Buffer.from(hex, "hex");
  const stated = fields.get("fingerprint");
  if (stated !== undefined && normalizeFingerprint(stated) !== deliveryKeyFingerprint(publicKey))
    throw new Invalid("the delivery key file is damaged: its fingerprint line does not match its key");
  return { user, publicKey };
}

/**
 * The public key in storage's key root, once it is seen to be the expected one (the exact key of
 * an exported file, or a key with the fingerprint given). NotFound when the storage holds no
 * account; Tampered when the key root names another key.
 */
export async function expectedRootKey(
  store: Store,
  expected: { publicKey: Uint8Array } | { fingerprint: string },
): Promise<Uint8Array> {
  await loadSodium();
  const bytes = await store.blobs.get("keys/root");
  if (!bytes)
    throw new NotFound(
      "this storage holds no account (keys/root is missing): set the account up on your own computer first (`aerogramme-local init`), then set up the mail host with the same bucket",
    );
  const publicKey = parseKeyRoot(bytes).publicKey;
  const found = deliveryKeyFingerprint(publicKey);
  const wanted = "publicKey" in expected ? deliveryKeyFingerprint(expected.publicKey) : expected.fingerprint;
  const matches =
    "publicKey" in expected
      ? Buffer.from(publicKey).equals(Buffer.from(expected.publicKey))
      : found === wanted;
  if (!matches)
    throw new Tampered(
      `the account's public key in storage (keys/root, fingerprint ${found}) is not the one expected (fingerprint ${wanted}): either the fingerprint was mistyped, the key file is from another account or from before a rekey, or the storage host replaced the key. Nothing was set up`,
    );
  return publicKey;
}
