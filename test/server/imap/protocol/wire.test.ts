// The two string rules side by side: the server's own text (tags, mailbox names, ID) follows the
// grammar alone; strings from a message follow Dovecot's stricter choices (imapFormat.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { quotedOrLiteral } from "../../../../src/server/imap/protocol/wire.ts";
import { mailboxWire } from "../../../../src/server/imap/protocol/mailboxName.ts";
import { nstring } from "../../../../src/server/imap/protocol/format/imapString.ts";

test("the server's text is quoted when the grammar allows it, escaping any number of quotes", () => {
  assert.equal(quotedOrLiteral("aerogramme-local"), '"aerogramme-local"');
  assert.equal(quotedOrLiteral(""), '""');
  assert.equal(quotedOrLiteral('a"b\\c"d"e"f'), '"a\\"b\\\\c\\"d\\"e\\"f"');
  // Dovecot's rule for message strings gives up on quoting after four escapes.
  assert.equal(nstring('a"b\\c"d"e"f'), '{11}\r\na"b\\c"d"e"f');
});

test("the server's text falls back to a literal of its UTF-8 bytes: 8-bit, CR, LF, NUL or over 1024 characters", () => {
  assert.equal(quotedOrLiteral("café"), "{5}\r\ncafé");
  assert.equal(quotedOrLiteral("a\r\nb"), "{4}\r\na\r\nb");
  assert.equal(quotedOrLiteral("a\0b"), "{3}\r\na\0b");
  assert.equal(quotedOrLiteral("x".repeat(1024)), `"${"x".repeat(1024)}"`);
  assert.equal(quotedOrLiteral("x".repeat(1025)), `{1025}\r\n${"x".repeat(1025)}`);
});

test("a mailbox name goes out in modified UTF-7, quoted", () => {
  assert.equal(mailboxWire("Entwürfe", false), '"Entw&APw-rfe"');
  assert.equal(mailboxWire('say "hi"', false), '"say \\"hi\\""');
});

test("a mailbox name goes out in UTF-8 to a client that enabled it (RFC 6855 §3), a literal only for CR, LF, NUL or length", () => {
  assert.equal(mailboxWire("Entwürfe", true), '"Entwürfe"');
  assert.equal(mailboxWire('R&D "x"', true), '"R&D \\"x\\""');
  assert.equal(mailboxWire("a\r\nb", true), "{4}\r\na\r\nb");
  const long = "ü".repeat(513); // 1026 bytes
  assert.equal(mailboxWire(long, true), `{1026}\r\n${long}`);
});
