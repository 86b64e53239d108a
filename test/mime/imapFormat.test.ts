// How ENVELOPE and BODYSTRUCTURE strings go on the wire: Dovecot 2.3's choices between quoted
// strings and literals, which clients see and which the corpus parity test relies on.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { nstring, nstringNolf, stringForHumans } from "../../src/server/imap/protocol/format/imapString.ts";
import { envelopeBytes, envelopeText } from "../../src/server/imap/protocol/format/envelope.ts";
import type { Envelope } from "../../src/mime/types.ts";

describe("IMAP strings as Dovecot writes them", () => {
  it("quotes plain text, escaping up to four quotes or backslashes", () => {
    assert.equal(nstring("plain"), '"plain"');
    assert.equal(nstring('a"b\\c"d\\'), '"a\\"b\\\\c\\"d\\\\"');
    assert.equal(nstring(null), "NIL");
    assert.equal(nstring(""), '""');
  });

  it("uses a literal for a fifth escape, for 8-bit bytes and for line breaks", () => {
    assert.equal(nstring('"""""'), '{5}\r\n"""""');
    assert.equal(nstring("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
    assert.equal(nstring("a\r\nb"), "{4}\r\na\r\nb");
  });

  it("drops folding line breaks from ids and dates, keeping words apart", () => {
    assert.equal(nstringNolf("Fri, 4 Jan 2019\n 13:00"), '"Fri, 4 Jan 2019 13:00"');
    assert.equal(nstringNolf("a\nb"), '"a b"');
    assert.equal(nstringNolf("<id>\r\n"), '"<id>"');
  });

  it("squeezes whitespace in subjects and names, as a literal when it changed anything", () => {
    assert.equal(stringForHumans("Hello world"), '"Hello world"');
    assert.equal(stringForHumans("  Hello \t world  "), "{11}\r\nHello world");
    assert.equal(stringForHumans("a\n b"), "{3}\r\na b");
    assert.equal(stringForHumans('say "hi"'), '{8}\r\nsay "hi"');
    assert.equal(stringForHumans("   "), '""');
    assert.equal(stringForHumans(""), '""');
  });
});

describe("ENVELOPE", () => {
  const from = [{ name: "Al", route: null, mailbox: "al", domain: "x.org" }];
  const env: Envelope = {
    date: null,
    subject: "s",
    from,
    sender: null,
    replyTo: null,
    to: null,
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId: "<m@x>",
  };

  it("gives From as Sender and Reply-To when they are absent (RFC 3501 §7.4.2)", () => {
    const a = '(("Al" NIL "al" "x.org"))';
    assert.equal(envelopeText(env), `(NIL "s" ${a} ${a} ${a} NIL NIL NIL NIL "<m@x>")`);
  });

  it("is ten NILs for a message part without an envelope, and bytes on the wire are latin-1", () => {
    assert.equal(envelopeText(null), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    const bytes = envelopeBytes({ ...env, subject: "\xc3\xa9" });
    assert.ok(bytes.includes(Buffer.from("{2}\r\n\xc3\xa9", "latin1")));
  });
});
