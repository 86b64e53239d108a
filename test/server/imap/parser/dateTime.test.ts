import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDate, parseDateTime } from "../../../../src/server/imap/parser/dateTime.ts";
import { ParseError } from "../../../../src/server/imap/parser/parseError.ts";

test("a date is midnight UTC of that day, month in any case", () => {
  assert.equal(parseDate("1-Feb-1994"), Date.UTC(1994, 1, 1));
  assert.equal(parseDate("01-feb-1994"), Date.UTC(1994, 1, 1));
  assert.equal(parseDate("29-FEB-2024"), Date.UTC(2024, 1, 29));
  assert.equal(parseDate("31-Dec-1999"), Date.UTC(1999, 11, 31));
});

for (const bad of [
  "",
  "1-Feb-94",
  "32-Jan-2020",
  "29-Feb-2023",
  "0-Jan-2020",
  "1-Fev-2020",
  "1 Feb 2020",
  "1-Feb-2020 ",
  "123-Feb-2020",
  "2020-02-01",
]) {
  test(`"${bad}" is not a date`, () => {
    assert.throws(() => parseDate(bad), ParseError);
  });
}

test("a date-time is the instant it names, its zone applied", () => {
  assert.equal(parseDateTime("17-Jul-1996 02:44:25 -0700"), Date.UTC(1996, 6, 17, 9, 44, 25));
  assert.equal(parseDateTime(" 1-Feb-1994 00:00:00 +0100"), Date.UTC(1994, 0, 31, 23, 0, 0));
  assert.equal(parseDateTime("01-Feb-1994 12:30:00 +0000"), Date.UTC(1994, 1, 1, 12, 30, 0));
  assert.equal(parseDateTime("1-Feb-1994 12:30:00 +0000"), Date.UTC(1994, 1, 1, 12, 30, 0));
  assert.equal(parseDateTime("31-Dec-2025 23:59:59 +0530"), Date.UTC(2025, 11, 31, 18, 29, 59));
});

for (const bad of [
  "17-Jul-1996 02:44:25",
  "17-Jul-1996 02:44 -0700",
  "17-Jul-1996 24:00:00 +0000",
  "17-Jul-1996 02:60:00 +0000",
  "17-Jul-1996 02:44:25 -07",
  "17-Jul-1996 02:44:25 -0760",
  "31-Jun-1996 02:44:25 +0000",
  "123-Jul-1996 02:44:25 +0000",
  "17-Jux-1996 02:44:25 +0000",
  "17-Jul-1996  02:44:25 +0000",
]) {
  test(`"${bad}" is not a date-time`, () => {
    assert.throws(() => parseDateTime(bad), ParseError);
  });
}
