/**
 * A message list's header fields (Thunderbird's `UID FETCH a:b (UID RFC822.SIZE FLAGS
 * BODY.PEEK[HEADER.FIELDS (...)])`) go out byte for byte: 8-bit header bytes as they were
 * appended (never re-encoded), the literal's size in bytes, NUL sent as 0x80, partials cut in bytes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendRaw, loggedIn, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();

const SUBJECT = "Subject: Grüße aus Köln, 東京\r\n"; // raw UTF-8 in a header, as many mailers send it
const RAW =
  "From: Zoë <zoe@example.org>\r\n" +
  SUBJECT +
  "X-Odd: a\u0000b\r\n" +
  "Date: Tue, 3 Mar 2026 08:30:00 +0100\r\n\r\nbody\r\n";

test("header fields with 8-bit bytes and NUL come back as appended, in a list of many messages", async () => {
  const c = await loggedIn(server());
  for (let i = 0; i < 3; i++) assert.match(await appendRaw(c, "INBOX", RAW), /OK/);
  await c.command("SELECT INBOX");
  const r = await c.command("UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (Subject X-Odd)])");
  const fields = Buffer.from(SUBJECT + "X-Odd: a\u0080b\r\n\r\n", "utf8");
  // NUL became the single byte 0x80, which is not UTF-8 on its own: compare the bytes.
  const want = Buffer.concat([
    Buffer.from(SUBJECT + "X-Odd: a", "utf8"),
    Buffer.from([0x80]),
    Buffer.from("b\r\n\r\n"),
  ]);
  assert.ok(fields.length > want.length); // the UTF-8 form of U+0080 is two bytes; the wire has one
  const lines = r.filter((l) => l.startsWith("* "));
  assert.equal(lines.length, 3);
  for (const [i, line] of lines.entries()) {
    const head = `* ${i + 1} FETCH (UID ${i + 1} FLAGS (\\Recent) RFC822.SIZE ${Buffer.byteLength(RAW)} BODY[HEADER.FIELDS (Subject X-Odd)] {${want.length}}\r\n`;
    assert.ok(line.startsWith(head), `line ${i + 1}: ${JSON.stringify(line.slice(0, 160))}`);
    // RawImap decodes the literal as UTF-8: the lone 0x80 reads as U+FFFD, the rest as sent.
    assert.equal(line.slice(head.length), want.toString("utf8") + ")");
  }
  c.close();
});

test("a partial of header fields is cut in bytes, not characters", async () => {
  const c = await loggedIn(server());
  await c.command("SELECT INBOX");
  const bytes = Buffer.from(SUBJECT, "utf8");
  // "Subject: Gr" is 11 bytes; "ü" is two: the cut at 12 splits it, as a byte offset must.
  const r = await c.command("UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)]<9.4>)");
  const want = bytes.subarray(9, 13);
  assert.equal(r[0], `* 1 FETCH (UID 1 BODY[HEADER.FIELDS (Subject)]<9> {4}\r\n${want.toString("utf8")})`);
  c.close();
});
