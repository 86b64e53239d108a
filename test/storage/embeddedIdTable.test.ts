/** The embedded row index's id table and partitions behave as the Map and sorted list they replace. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeId, IdTable } from "../../src/storage/embedded/idTable.ts";
import { newRef, RowIndex } from "../../src/storage/embedded/rowIndex.ts";
import { compareKeys, selectRange } from "../../src/storage/rowSemantics.ts";

const idOf = (hex: string) => {
  const out = new Uint8Array(16);
  assert.equal(decodeId(hex, out), true);
  return out;
};

// Few distinct first bytes, so that ids share home slots and runs wrap around the table's end.
const hexId = fc
  .tuple(fc.constantFrom("00", "01", "ff", "7f"), fc.constantFrom("0", "a", "f"), fc.nat(40))
  .map(([head, fill, n]) => head + fill.repeat(22) + n.toString(16).padStart(8, "0"));

test("decodeId takes 32 lowercase hex digits and nothing else", () => {
  const out = new Uint8Array(16);
  assert.equal(decodeId("00ff".repeat(8), out), true);
  assert.deepEqual([...out.subarray(0, 2)], [0, 255]);
  for (const bad of ["00FF".repeat(8), "0".repeat(31), "0".repeat(33), "g".repeat(32), "é".repeat(32)])
    assert.equal(decodeId(bad, out), false, bad);
});

test("the id table finds, replaces and forgets as a Map does, through growth and deletions", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), hexId, fc.nat()), { maxLength: 300 }), (ops) => {
      const table = new IdTable<number>(2);
      const map = new Map<string, number>();
      for (const [put, hex, value] of ops) {
        if (put) {
          assert.equal(table.set(idOf(hex), value).added, !map.has(hex));
          map.set(hex, value);
        } else assert.equal(table.delete(idOf(hex)), map.delete(hex));
        assert.equal(table.size, map.size);
      }
      for (const [hex, value] of map) assert.equal(table.get(idOf(hex)), value);
      const listed = [...table.slots()].map((s) => [table.keyAt(s), table.valueAt(s)]);
      assert.deepEqual(new Map(listed as [string, number][]), map);
    }),
    { numRuns: 300, seed: 11 },
  );
});

test("a partition of ids and other keys lists its keys in byte order through adds and removes", () => {
  const key = fc.oneof(
    hexId,
    fc.constantFrom("a", "z", "0", "00", "ff", "mail", "0".repeat(32).toUpperCase()),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), key), { maxLength: 120 }), fc.nat(8), (ops, at) => {
      const index = new RowIndex();
      const keys = new Set<string>();
      for (const [i, [put, sk]] of ops.entries()) {
        const ref = newRef(1, { recordLength: 1, valueOffset: 0, valueLength: 1, tombstone: false });
        if (put) {
          index.set("p", sk, { counter: 1, values: [{ dot: 1, value: ref }] });
          keys.add(sk);
        } else {
          const held = index.get("p", sk)?.values[0]?.value;
          if (held) assert.equal(index.forget("p", sk, held), true);
          keys.delete(sk);
        }
        // A range now and then, so that later adds splice into the sorted keys.
        if (i % (at + 2) === 0) index.sortedKeys("p");
      }
      const expected = [...keys].sort(compareKeys);
      const view = index.sortedKeys("p");
      assert.deepEqual(
        Array.from({ length: view.length }, (_, i) => view.at(i)),
        expected,
      );
      assert.deepEqual(
        selectRange(view, { start: expected[at], limit: 3 }),
        selectRange(expected, { start: expected[at], limit: 3 }),
      );
      for (const sk of expected) assert.equal(index.isLive("p", sk), true);
    }),
    { numRuns: 300, seed: 11 },
  );
});
