import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMailboxName, encodeMailboxName } from "../../../../src/server/imap/parser/mutf7.ts";
import { ParseError } from "../../../../src/server/imap/parser/parseError.ts";

const PAIRS: [string, string][] = [
  ["INBOX", "INBOX"],
  ["Entwürfe", "Entw&APw-rfe"],
  ["&", "&-"],
  ["Tom & Jerry", "Tom &- Jerry"],
  ["~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"],
  ["€", "&IKw-"],
  ["a\tb", "a&AAk-b"],
  ["😀", "&2D3eAA-"],
  ["Ünïcödé", "&ANw-n&AO8-c&APY-d&AOk-"],
];

for (const [name, wire] of PAIRS) {
  test(`"${name}" is "${wire}" on the wire, both ways`, () => {
    assert.equal(encodeMailboxName(name), wire);
    assert.equal(decodeMailboxName(wire), name);
  });
}

test("any Unicode name survives encode then decode, and its wire form is 7-bit", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (name) => {
      const wire = encodeMailboxName(name);
      assert.match(wire, /^[\x20-\x7e]*$/);
      assert.equal(decodeMailboxName(wire), name);
    }),
    { numRuns: 500, seed: 7 },
  );
});

const INVALID: [string, string][] = [
  ["&", "an unterminated shift"],
  ["abc&APw", "a shift without its -"],
  ["&AP*-", "a character outside modified base64"],
  ["&AP/-", "'/' instead of ','"],
  ["&A-", "a single base64 character"],
  ["&APw=-", "base64 padding"],
  ["&APx-", "non-zero padding bits"],
  ["&AGE-", "printable ASCII ('a') encoded"],
  ["&ACY-", "'&' encoded instead of &-"],
  ["&APw-&AOQ-", "two adjacent base64 runs"],
  ["&2D0-", "a lone high surrogate"],
  ["&3gA-", "a lone low surrogate"],
  ["&AAAA-", "three bytes (odd UTF-16)"],
];

for (const [wire, why] of INVALID) {
  test(`"${wire}" is refused as modified UTF-7 (${why})`, () => {
    assert.throws(
      () => decodeMailboxName(wire),
      (err: unknown) => {
        assert.ok(err instanceof ParseError);
        assert.equal(err.status, "BAD");
        assert.match(err.message, /modified UTF-7/);
        return true;
      },
    );
  });
}

test("a name with 8-bit characters is taken as UTF-8 text as it is", () => {
  assert.equal(decodeMailboxName("Entwürfe"), "Entwürfe");
});
