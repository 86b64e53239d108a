/**
 * The mark of the record of filed deliveries (src/mail/incoming/filedMark.ts), as pure functions:
 * what honest storage does to the record passes, each way of serving it older is named.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeFiledMark,
  EMPTY_FILED_MARK,
  filedMarkOf,
  filedRegression,
  isEmptyFiledMark,
  sameFiledMark,
} from "../../src/mail/incoming/filedMark.ts";

const ts = (n: number) => n.toString(16).padStart(28, "0");

test("honest changes pass: new ids, ids folded into a higher floor, siblings merged", () => {
  const mark = filedMarkOf(ts(10), [ts(11), ts(12)]);
  assert.equal(filedRegression(mark, ts(10), new Set([ts(11), ts(12), ts(13)])), undefined);
  assert.equal(filedRegression(mark, ts(12), new Set([ts(13)])), undefined, "11 and 12 folded");
  assert.equal(filedRegression(EMPTY_FILED_MARK, ts(0), new Set()), undefined);
});

test("a lower floor, or an id seen above the floor and now missing, is a regression", () => {
  const mark = filedMarkOf(ts(10), [ts(11), ts(12)]);
  assert.match(filedRegression(mark, ts(9), new Set([ts(11), ts(12)]))!, /floor .* is below/);
  // The newest id gone: an older copy of the row.
  assert.match(
    filedRegression(mark, ts(10), new Set([ts(11)]))!,
    /1 filed delivery id .* missing \(the newest 0+c\)/,
  );
  // An older id gone while a newer one stays: one of two siblings hidden.
  assert.match(filedRegression(mark, ts(10), new Set([ts(12)]))!, /1 filed delivery id/);
  assert.match(filedRegression(mark, ts(0), new Set())!, /floor/);
});

test("the mark keeps only ids above its floor, sorted, and decodes what it saved", () => {
  const mark = filedMarkOf(ts(10), [ts(12), ts(9), ts(10), ts(11)]);
  assert.deepEqual(mark, { floor: ts(10), ids: [ts(11), ts(12)] });
  assert.ok(sameFiledMark(decodeFiledMark(JSON.parse(JSON.stringify(mark))), mark));
  assert.ok(isEmptyFiledMark(decodeFiledMark(undefined)));
  assert.ok(isEmptyFiledMark(decodeFiledMark({ floor: 3 })));
  assert.ok(!sameFiledMark(mark, filedMarkOf(ts(10), [ts(11)])));
});
