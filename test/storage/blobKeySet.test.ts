/** The blob folder's compact key list lists as a sorted array of strings would. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareKeys } from "../../src/storage/rowSemantics.ts";
import { BlobKeySet } from "../../src/storage/embedded/blobKeySet.ts";
import { propertyRuns } from "../support/propertyRuns.ts";

/** What BlobStore.list answers, from every key as a string (the folder's former key list). */
function listOf(all: Set<string>, prefix: string, startAfter?: string, limit?: number) {
  const sorted = [...all].sort(compareKeys);
  const after = startAfter !== undefined && compareKeys(startAfter, prefix) >= 0;
  const keys: string[] = [];
  for (const key of sorted) {
    if (!key.startsWith(prefix)) continue;
    if (after ? compareKeys(key, startAfter) <= 0 : compareKeys(key, prefix) < 0) continue;
    if (limit !== undefined && keys.length >= limit)
      return keys.length > 0 ? { keys, nextStartAfter: keys[keys.length - 1] } : { keys };
    keys.push(key);
  }
  return { keys };
}

// Keys that end in 32 lowercase hex digits are held as bytes, the others as strings: prefixes that
// are prefixes of one another, tails that nearly are ids (31 digits, upper case), and ids that
// differ in one digit, so that both kinds interleave in the order.
const hex = (fill: string, last: string) => fill.repeat(31) + last;
const tail = fc.constantFrom(
  hex("0", "0"),
  hex("0", "1"),
  hex("a", "f"),
  hex("f", "f"),
  hex("7", "a"),
  hex("0", ""),
  hex("A", "B"),
  "",
  "z",
  "0",
);
const prefix = fc.constantFrom("", "mail/", "mail", "mail/0", "m", "keys/", "mail/é", "n");
const key = fc.tuple(prefix, tail).map(([p, t]) => p + t);
const op = fc.oneof(
  fc.record({ add: key }),
  fc.record({ del: key }),
  fc.record({
    prefix,
    startAfter: fc.option(key, { nil: undefined }),
    limit: fc.option(fc.nat(4), { nil: undefined }),
  }),
);

test("the compact key list lists, finds and forgets keys as a sorted string array", () => {
  fc.assert(
    fc.property(fc.array(key, { maxLength: 12 }), fc.array(op, { maxLength: 40 }), (initial, ops) => {
      const set = BlobKeySet.of(initial);
      const all = new Set(initial);
      for (const o of ops) {
        if ("add" in o) {
          set.add(o.add);
          all.add(o.add);
        } else if ("del" in o) {
          set.delete(o.del);
          all.delete(o.del);
        } else {
          assert.deepEqual(
            set.list(o.prefix, o.startAfter, o.limit),
            listOf(all, o.prefix, o.startAfter, o.limit),
          );
        }
        for (const k of [...all].slice(0, 3)) assert.equal(set.has(k), true);
      }
      assert.deepEqual(set.list("").keys, [...all].sort(compareKeys));
      for (const k of initial) assert.equal(set.has(k), all.has(k));
    }),
    { numRuns: propertyRuns({ full: 500, fast: 170 }), seed: 11 },
  );
});

test("a run of ids grows past its first allocation and shrinks back in order", () => {
  const ids = Array.from({ length: 1000 }, (_, i) => `mail/${(i * 7919).toString(16).padStart(32, "0")}`);
  const set = BlobKeySet.of(ids.slice(0, 10));
  for (const id of ids.slice(10).reverse()) set.add(id);
  assert.deepEqual(set.list("mail/").keys, [...ids].sort(compareKeys));
  for (const id of ids.filter((_, i) => i % 2 === 0)) set.delete(id);
  assert.deepEqual(set.list("mail/").keys, ids.filter((_, i) => i % 2 === 1).sort(compareKeys));
  const page = set.list("mail/", undefined, 3);
  assert.equal(page.keys.length, 3);
  assert.equal(page.nextStartAfter, page.keys[2]);
  assert.equal(set.list("mail/", page.nextStartAfter, 1).keys[0], set.list("mail/").keys[3]);
});
