/**
 * A search index file's field piece (mail/search/fieldPiece.ts) against the records it was made
 * from: every value comes back as it went in, and a byte search of the needle's UTF-8 marks every
 * message with a value holding it (and only messages whose values, one after another, hold it).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { encodeFieldPiece, FieldPiece, type FieldRecords } from "../../src/mail/search/fieldPiece.ts";
import { propertyRuns } from "../support/propertyRuns.ts";

// Letters of one to four UTF-8 bytes, so that a needle may start or end inside another letter.
const letter = fc.constantFrom("a", "b", "é", "ß", "σ", "İ", "€", "𝔸", " ");
const text = fc.array(letter, { maxLength: 8 }).map((l) => l.join(""));
const records = fc.array(
  fc.array(fc.tuple(fc.constantFrom("subject", "\0from", "x-tag"), text), { maxLength: 4 }),
  { maxLength: 12 },
);

/** The piece as a search gets it: through a copy at an odd offset, as a decrypted buffer may be. */
function reopened(recs: FieldRecords): FieldPiece {
  const bytes = encodeFieldPiece(recs);
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  return FieldPiece.decode(shifted, "test");
}

test("a field piece gives back every value and finds every message whose value holds a needle", () => {
  fc.assert(
    fc.property(records, text, (recs, needle) => {
      const piece = reopened(recs);
      assert.equal(piece.count, recs.length);
      recs.forEach((fields, i) => {
        for (const name of ["subject", "\0from", "x-tag", "absent"])
          assert.deepEqual(
            piece.values(i, name),
            fields.filter(([n]) => n === name).map(([, v]) => v),
          );
        assert.deepEqual(
          piece.fields(i),
          fields.flatMap(([n, v]) => [n, v]),
        );
      });
      if (needle === "") return;
      const marked = new Uint8Array(recs.length);
      piece.candidates(Buffer.from(needle), marked);
      recs.forEach((fields, i) => {
        const joined = fields.map(([, v]) => v).join("");
        if (fields.some(([, v]) => v.includes(needle))) assert.equal(marked[i], 1, `message ${i}`);
        assert.equal(marked[i], joined.includes(needle) ? 1 : 0, `message ${i}, ${JSON.stringify(joined)}`);
      });
    }),
    { seed: 20261205, numRuns: propertyRuns({ full: 500, fast: 170 }) },
  );
});

test("a piece whose table does not add up is refused", () => {
  const bytes = Buffer.from(encodeFieldPiece([[["subject", "hello"]]]));
  assert.throws(() => FieldPiece.decode(bytes.subarray(0, bytes.length - 1), "test"), /does not add up/);
  const swapped = Buffer.from(bytes);
  swapped.writeUInt32BE(0x01020304, 0); // the mark as a machine of the other byte order reads it
  assert.throws(() => FieldPiece.decode(swapped, "test"), /byte order/);
});

test("a message with 70,000 distinct field names is kept whole", () => {
  const fields = Array.from({ length: 70_000 }, (_, i) => [`x-f${i}`, `v${i}`] as const);
  const piece = reopened([fields, [["subject", "after"]]]);
  assert.deepEqual(piece.values(0, "x-f69999"), ["v69999"]);
  assert.deepEqual(piece.values(1, "subject"), ["after"]);
  const marked = new Uint8Array(2);
  piece.candidates(Buffer.from("v69999"), marked);
  assert.deepEqual([...marked], [1, 0]);
});
