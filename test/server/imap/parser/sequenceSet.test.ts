import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSequenceSet } from "../../../../src/server/imap/parser/sequenceSet.ts";
import { ParseError } from "../../../../src/server/imap/parser/parseError.ts";

test("ranges, single numbers and * keep the order they were written in", () => {
  assert.deepEqual(parseSequenceSet("1:3,5,*,7:*"), {
    ranges: [
      { from: 1, to: 3 },
      { from: 5, to: 5 },
      { from: Infinity, to: Infinity },
      { from: 7, to: Infinity },
    ],
  });
  assert.deepEqual(parseSequenceSet("9:2"), { ranges: [{ from: 9, to: 2 }] });
  assert.deepEqual(parseSequenceSet("*:4"), { ranges: [{ from: Infinity, to: 4 }] });
});

test("$ is the saved search result (RFC 5182)", () => {
  assert.deepEqual(parseSequenceSet("$"), { saved: true });
});

test("the largest nz-number 4294967295 is taken; one more is refused", () => {
  assert.deepEqual(parseSequenceSet("4294967295"), { ranges: [{ from: 4294967295, to: 4294967295 }] });
  assert.throws(() => parseSequenceSet("4294967296"), ParseError);
});

for (const bad of [
  "",
  "0",
  "0:5",
  "1:0",
  "01",
  "1,,2",
  ",1",
  "1,",
  "1:2:3",
  "a",
  "1:",
  ":3",
  "-1",
  "1.5",
  "$,1",
  "**",
  "1:$",
  " 1",
  "1 ",
]) {
  test(`"${bad}" is not a sequence set`, () => {
    assert.throws(() => parseSequenceSet(bad), ParseError);
  });
}
