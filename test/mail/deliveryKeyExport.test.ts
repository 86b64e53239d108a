/** The delivery key file and fingerprint that carry the public key to a mail host (issue 13). */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  deliveryKeyFingerprint,
  formatDeliveryKeyFile,
  normalizeFingerprint,
  parseDeliveryKeyFile,
} from "../../src/mail/incoming/deliveryKeyExport.ts";
import { Invalid } from "../../src/errors.ts";

const key = Buffer.alloc(32, 7);

test("the file round-trips; a fingerprint line that does not match its key is refused", () => {
  const text = formatDeliveryKeyFile({ user: "alice", publicKey: key });
  const back = parseDeliveryKeyFile(text);
  assert.equal(back.user, "alice");
  assert.deepEqual(Buffer.from(back.publicKey), key);
  const otherKey = formatDeliveryKeyFile({ user: "alice", publicKey: Buffer.alloc(32, 8) });
  const spliced = text.replace(/^fingerprint .*$/m, otherKey.match(/^fingerprint .*$/m)![0]);
  assert.throws(() => parseDeliveryKeyFile(spliced), Invalid);
  assert.throws(() => parseDeliveryKeyFile("user alice\npublic-key 12\n"), Invalid);
  assert.throws(() => parseDeliveryKeyFile("hello"), Invalid);
});

test("fingerprints: 8 groups of 4 hex digits, typed in any case and with any separators", () => {
  const fp = deliveryKeyFingerprint(key);
  assert.match(fp, /^([0-9a-f]{4}-){7}[0-9a-f]{4}$/);
  assert.notEqual(deliveryKeyFingerprint(Buffer.alloc(32, 8)), fp);
  assert.equal(normalizeFingerprint(fp.toUpperCase().replace(/-/g, " ")), fp);
  assert.equal(normalizeFingerprint(fp.replace(/-/g, ":")), fp);
  assert.equal(normalizeFingerprint(fp.slice(0, -1)), undefined);
  assert.equal(normalizeFingerprint(`${fp}0`), undefined);
});
