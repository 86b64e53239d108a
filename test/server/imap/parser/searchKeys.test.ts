import { test } from "node:test";
import assert from "node:assert/strict";
import { command, failureOf } from "./readerHarness.ts";
import type { SearchKey } from "../../../../src/server/imap/parser/types.ts";

async function key(program: string): Promise<SearchKey> {
  const c = await command(`a SEARCH ${program}`);
  if (c.name !== "SEARCH") return assert.fail("not SEARCH");
  return c.key;
}

test("every flag key of RFC 3501, in any case", async () => {
  const names = [
    "ALL",
    "ANSWERED",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "NEW",
    "OLD",
    "RECENT",
    "SEEN",
    "UNANSWERED",
    "UNDELETED",
    "UNDRAFT",
    "UNFLAGGED",
    "UNSEEN",
  ];
  for (const name of names) assert.deepEqual(await key(name.toLowerCase()), { kind: name });
});

test("string keys take atoms, quoted strings and literals", async () => {
  for (const name of ["BCC", "CC", "FROM", "SUBJECT", "TO", "BODY", "TEXT"]) {
    assert.deepEqual(await key(`${name} alice`), { kind: name, value: "alice" });
  }
  assert.deepEqual(await key('SUBJECT "hello world"'), { kind: "SUBJECT", value: "hello world" });
  assert.deepEqual(await key('BODY {5}\r\na"b c'), { kind: "BODY", value: 'a"b c' });
  assert.deepEqual(await key("HEADER Message-ID <x@y>"), {
    kind: "HEADER",
    field: "Message-ID",
    value: "<x@y>",
  });
  assert.deepEqual(await key('HEADER X-Spam ""'), { kind: "HEADER", field: "X-Spam", value: "" });
});

test("date keys, quoted or not, are midnight UTC", async () => {
  for (const name of ["BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"]) {
    assert.deepEqual(await key(`${name} 1-Feb-1994`), { kind: name, date: Date.UTC(1994, 1, 1) });
  }
  assert.deepEqual(await key('SINCE "17-Jul-1996"'), { kind: "SINCE", date: Date.UTC(1996, 6, 17) });
});

test("sizes, keywords, UID sets and plain sequence sets as keys", async () => {
  assert.deepEqual(await key("LARGER 1024"), { kind: "LARGER", size: 1024 });
  assert.deepEqual(await key("SMALLER 10"), { kind: "SMALLER", size: 10 });
  assert.deepEqual(await key("KEYWORD $Forwarded"), { kind: "KEYWORD", flag: "$Forwarded" });
  assert.deepEqual(await key("UNKEYWORD $Junk"), { kind: "UNKEYWORD", flag: "$Junk" });
  assert.deepEqual(await key("UID 1:*"), { kind: "UID", set: { ranges: [{ from: 1, to: Infinity }] } });
  assert.deepEqual(await key("2,4:6"), {
    kind: "SEQ",
    set: {
      ranges: [
        { from: 2, to: 2 },
        { from: 4, to: 6 },
      ],
    },
  });
  assert.deepEqual(await key("$"), { kind: "SEQ", set: { saved: true } });
  assert.deepEqual(await key("UID $"), { kind: "UID", set: { saved: true } });
  assert.deepEqual(await key("*"), { kind: "SEQ", set: { ranges: [{ from: Infinity, to: Infinity }] } });
});

test("MODSEQ with and without the entry name and type (which are ignored)", async () => {
  assert.deepEqual(await key("MODSEQ 620162338"), { kind: "MODSEQ", modseq: 620162338 });
  assert.deepEqual(await key('MODSEQ "/flags/\\\\draft" all 620162338'), {
    kind: "MODSEQ",
    modseq: 620162338,
  });
  assert.deepEqual(await key('MODSEQ "/flags/$Junk" priv 5'), { kind: "MODSEQ", modseq: 5 });
  assert.match((await failureOf('a SEARCH MODSEQ "/flags/x" mine 5')).text, /entry type/);
});

test("top-level keys are ANDed; parentheses group; OR and NOT nest", async () => {
  assert.deepEqual(await key("UNSEEN FROM bob"), {
    kind: "AND",
    keys: [{ kind: "UNSEEN" }, { kind: "FROM", value: "bob" }],
  });
  assert.deepEqual(await key("OR (FROM a TO b) NOT (SEEN FLAGGED)"), {
    kind: "OR",
    left: {
      kind: "AND",
      keys: [
        { kind: "FROM", value: "a" },
        { kind: "TO", value: "b" },
      ],
    },
    right: { kind: "NOT", key: { kind: "AND", keys: [{ kind: "SEEN" }, { kind: "FLAGGED" }] } },
  });
  assert.deepEqual(await key("NOT OR OR SEEN DRAFT NOT DELETED (((ANSWERED)))"), {
    kind: "AND",
    keys: [
      {
        kind: "NOT",
        key: {
          kind: "OR",
          left: { kind: "OR", left: { kind: "SEEN" }, right: { kind: "DRAFT" } },
          right: { kind: "NOT", key: { kind: "DELETED" } },
        },
      },
      { kind: "ANSWERED" },
    ],
  });
  assert.deepEqual(await key("NOT SEEN (ANSWERED)"), {
    kind: "AND",
    keys: [{ kind: "NOT", key: { kind: "SEEN" } }, { kind: "ANSWERED" }],
  });
  assert.deepEqual(await key("OR 1:5 UID 9 SINCE 1-Jan-2020"), {
    kind: "AND",
    keys: [
      {
        kind: "OR",
        left: { kind: "SEQ", set: { ranges: [{ from: 1, to: 5 }] } },
        right: { kind: "UID", set: { ranges: [{ from: 9, to: 9 }] } },
      },
      { kind: "SINCE", date: Date.UTC(2020, 0, 1) },
    ],
  });
});

test("nesting deeper than the bound is refused, not recursed into", async () => {
  const deep = "(".repeat(200) + "ALL" + ")".repeat(200);
  assert.match((await failureOf(`a SEARCH ${deep}`)).text, /nested too deeply/);
  const nots = "NOT ".repeat(200) + "ALL";
  assert.match((await failureOf(`a SEARCH ${nots}`)).text, /nested too deeply/);
  // Sixty levels are fine.
  assert.equal((await key("(".repeat(60) + "ALL" + ")".repeat(60))).kind, "ALL");
});

const BAD: [string, RegExp][] = [
  ["FOO", /unknown search key FOO/],
  ["FROM", /space/],
  ["OR SEEN", /space/],
  ["NOT", /space/],
  ["()", /search key/],
  ["(SEEN", /space|"\)"/],
  ["SEEN)", /without its/],
  ["SINCE 32-Jan-2020", /invalid date/],
  ["SINCE yesterday", /invalid date/],
  ["LARGER -1", /size/],
  ["LARGER 99999999999", /too large/],
  ["UID 0", /sequence set/],
  ["0", /sequence set/],
  ["1:x", /sequence set/],
  ["HEADER Subject", /space/],
  ["KEYWORD", /space/],
  ["MODSEQ x", /MODSEQ/],
  ["SEEN  FLAGGED", /search key/],
  ['SUBJECT "unterminated', /not terminated/],
  ['SUBJECT "bad \\escape"', /may escape only/],
];

for (const [program, why] of BAD) {
  test(`SEARCH ${program} is BAD (${why.source})`, async () => {
    const f = await failureOf(`a SEARCH ${program}`);
    assert.equal(f.status, "BAD");
    assert.equal(f.tag, "a");
    assert.match(f.text, why);
  });
}
