import { test } from "node:test";
import assert from "node:assert/strict";
import { command, failureOf } from "./readerHarness.ts";
import type { FetchAttribute } from "../../../../src/server/imap/parser/types.ts";

async function attributes(list: string): Promise<FetchAttribute[]> {
  const c = await command(`a FETCH 1 ${list}`);
  if (c.name !== "FETCH") return assert.fail("not FETCH");
  return c.attributes;
}

test("every simple attribute, in any case", async () => {
  assert.deepEqual(
    await attributes(
      "(uid Flags INTERNALDATE rfc822.size ENVELOPE BODYSTRUCTURE BODY MODSEQ RFC822 RFC822.HEADER RFC822.TEXT)",
    ),
    [
      { kind: "UID" },
      { kind: "FLAGS" },
      { kind: "INTERNALDATE" },
      { kind: "RFC822.SIZE" },
      { kind: "ENVELOPE" },
      { kind: "BODYSTRUCTURE" },
      { kind: "BODY" },
      { kind: "MODSEQ" },
      { kind: "RFC822" },
      { kind: "RFC822.HEADER" },
      { kind: "RFC822.TEXT" },
    ],
  );
});

test("BODY.PEEK[HEADER.FIELDS (From To)]<0.100> keeps field names as written and the partial", async () => {
  assert.deepEqual(await attributes("BODY.PEEK[HEADER.FIELDS (From To)]<0.100>"), [
    {
      kind: "BODY[]",
      peek: true,
      section: { part: [], text: "HEADER.FIELDS", fields: ["From", "To"] },
      partial: { offset: 0, length: 100 },
    },
  ]);
});

test("BODY[1.2.MIME], BODY[], BODY[TEXT]<10.5>, BODY[3.HEADER.FIELDS.NOT (X-Spam)]", async () => {
  assert.deepEqual(
    await attributes(
      '(BODY[1.2.MIME] BODY[] body.peek[text]<10.5> BODY[3.HEADER.FIELDS.NOT (X-Spam "Received")])',
    ),
    [
      { kind: "BODY[]", peek: false, section: { part: [1, 2], text: "MIME" } },
      { kind: "BODY[]", peek: false, section: { part: [] } },
      { kind: "BODY[]", peek: true, section: { part: [], text: "TEXT" }, partial: { offset: 10, length: 5 } },
      {
        kind: "BODY[]",
        peek: false,
        section: { part: [3], text: "HEADER.FIELDS.NOT", fields: ["X-Spam", "Received"] },
      },
    ],
  );
  assert.deepEqual(await attributes("BODY[4.1]"), [
    { kind: "BODY[]", peek: false, section: { part: [4, 1] } },
  ]);
  assert.deepEqual(await attributes("BODY[2.HEADER]"), [
    { kind: "BODY[]", peek: false, section: { part: [2], text: "HEADER" } },
  ]);
});

test("RFC 3516 §6: BINARY[1.2], BINARY.PEEK[]<0.10>, BINARY.SIZE[3]", async () => {
  assert.deepEqual(await attributes("(BINARY[1.2] binary.peek[]<0.10> BINARY.SIZE[3])"), [
    { kind: "BINARY", peek: false, part: [1, 2] },
    { kind: "BINARY", peek: true, part: [], partial: { offset: 0, length: 10 } },
    { kind: "BINARY.SIZE", part: [3] },
  ]);
});

test("RFC 8970 §6: PREVIEW, and PREVIEW (LAZY) followed by another item", async () => {
  assert.deepEqual(await attributes("(UID preview (lazy) FLAGS PREVIEW)"), [
    { kind: "UID" },
    { kind: "PREVIEW", lazy: true },
    { kind: "FLAGS" },
    { kind: "PREVIEW", lazy: false },
  ]);
});

test("Thunderbird's header fetch parses whole", async () => {
  const c = await command(
    "a UID FETCH 1:200 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To Received)])",
  );
  if (c.name !== "FETCH") return assert.fail("not FETCH");
  const last = c.attributes[3];
  assert.equal(last?.kind, "BODY[]");
  if (last?.kind !== "BODY[]") return;
  assert.equal(last.section.fields?.length, 15);
  assert.equal(last.section.fields?.[6], "Message-ID");
});

const BAD: [string, RegExp][] = [
  ["BODY.PEEK", /BODY.PEEK needs a \[section\]/],
  ["BODY[MIME]", /MIME needs a part number/],
  ["BODY[0]", /above 0/],
  ["BODY[1.0.TEXT]", /above 0/],
  ["BODY[FOO]", /invalid section "FOO"/],
  ["BODY[HEADER.FIELDS]", /space/],
  ["BODY[HEADER.FIELDS ()]", /header field name/],
  ["BODY[HEADER.FIELDS (From]", /space|"\)"|"\]"/],
  ["BODY[TEXT", /"\]"/],
  ["BODY[]<5>", /"\."/],
  ["BODY[]<1.0>", /above 0/],
  ["BODY[]<a.1>", /partial offset/],
  ["BINARY[1.TEXT]", /part number|"\."|"\]"/],
  ["BINARY[HEADER]", /part number/],
  ["BINARY", /"\[" after BINARY/],
  ["BINARY[0]", /above 0/],
  ["BINARY.SIZE[1]<0.10>", /unexpected|space|"\)"/],
  ["(FLAGS UID", /space|"\)"|fetch attribute/],
  ["(FLAGS  UID)", /fetch attribute/],
  ["RFC822.SIZES", /unknown fetch attribute/],
  ["X-GM-LABELS", /fetch attribute/],
];

for (const [list, why] of BAD) {
  test(`FETCH 1 ${list} is BAD (${why.source})`, async () => {
    const f = await failureOf(`a FETCH 1 ${list}`);
    assert.equal(f.status, "BAD");
    assert.equal(f.tag, "a");
    assert.match(f.text, why);
  });
}
