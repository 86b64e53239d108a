/** Properties of the key order and range selection every single-node backend relies on. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareKeys, selectRange } from "../../src/storage/rowSemantics.ts";
import { blobFileName, blobKeyOf } from "../../src/storage/embedded/blobFileNames.ts";
import type { RangeQuery } from "../../src/storage/types.ts";
import { propertyRuns } from "../support/propertyRuns.ts";

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
/** Short strings from a small alphabet that mixes ASCII, BMP above the surrogates, and astral chars. */
const key = fc.string({
  unit: fc.constantFrom("a", "b", "/", "B", "é", "\uFFFD", "\uE000", "\u{1F600}", "\u{10000}"),
  maxLength: 5,
});

test("compareKeys orders strings as their UTF-8 bytes", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "grapheme", maxLength: 8 }),
      fc.string({ unit: "grapheme", maxLength: 8 }),
      (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), Math.sign(utf8Order(a, b)));
      },
    ),
    { numRuns: propertyRuns({ full: 2_000, fast: 700 }), seed: 42 },
  );
  fc.assert(
    fc.property(key, key, (a, b) => {
      assert.equal(Math.sign(compareKeys(a, b)), Math.sign(utf8Order(a, b)));
    }),
    { numRuns: propertyRuns({ full: 2_000, fast: 700 }), seed: 7 },
  );
});

/** The obvious, slow reading of the K2V range rules, to check selectRange against. */
function naiveRange(sorted: string[], q: RangeQuery, include: (k: string) => boolean) {
  const ordered = q.reverse ? [...sorted].reverse() : sorted;
  const matching = ordered.filter(
    (k) =>
      include(k) &&
      k.startsWith(q.prefix ?? "") &&
      (q.start === undefined || (q.reverse ? utf8Order(k, q.start) <= 0 : utf8Order(k, q.start) >= 0)) &&
      (q.end === undefined || (q.reverse ? utf8Order(k, q.end) > 0 : utf8Order(k, q.end) < 0)),
  );
  if (q.limit !== undefined && matching.length > q.limit) {
    return { keys: matching.slice(0, q.limit), nextStart: matching[q.limit] };
  }
  return { keys: matching };
}

test("selectRange agrees with the plain reading of prefix, start, end, limit and reverse", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(key, { maxLength: 30 }),
      fc.record(
        {
          prefix: fc.constantFrom("", "a", "b/", "é", "\u{1F600}"),
          start: key,
          end: key,
          limit: fc.nat(6),
          reverse: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      fc.func(fc.boolean()),
      (keys, query, include) => {
        const sorted = [...keys].sort(utf8Order);
        const got = selectRange(sorted, query, include);
        const want = naiveRange(sorted, query, include);
        assert.deepEqual(got.keys, want.keys);
        assert.equal(got.nextStart, want.nextStart);
      },
    ),
    { numRuns: propertyRuns({ full: 3_000, fast: 1_000 }), seed: 1 },
  );
});

test("blob keys map to file names of [a-z0-9-_] and back, one to one", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), (k) => {
      const name = blobFileName(k);
      assert.match(name, /^[a-z0-9_-]+$/);
      assert.equal(blobKeyOf(name), k);
    }),
    { numRuns: propertyRuns({ full: 2_000, fast: 700 }), seed: 3 },
  );
  assert.equal(blobKeyOf(".tmp-123"), undefined);
  assert.equal(blobKeyOf("_61"), undefined, "a non-canonical name ('a' escaped) is not a blob");
  assert.equal(blobKeyOf("_ff"), undefined, "a name that is not UTF-8 is not a blob");
  assert.notEqual(blobFileName("A"), blobFileName("a"));
});
