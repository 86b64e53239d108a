// headerFields reads a block for its fields' names and extents alone (a client's message list asks
// it of every message). Its answers must be those of the fields parseHeaderBlock finds, which is
// how it was written before: checked here on seeded random blocks full of the awkward cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { headerFields, parseHeaderBlock } from "../../src/mime/headerBlock.ts";
import { seededBits } from "../support/seededBits.ts";

/** HEADER.FIELDS (.NOT) from the parsed fields: the reference. */
function fromParsedFields(block: string, names: readonly string[], not: boolean): string {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const { fields, eohStart } = parseHeaderBlock(block);
  let out = "";
  for (const field of fields) {
    if (wanted.has(field.name.toLowerCase()) !== not) out += block.slice(field.start, field.end);
  }
  if (not) return eohStart >= 0 ? out + block.slice(eohStart) : out;
  const last = fields[fields.length - 1];
  const endsOpen = eohStart < 0 && last !== undefined && !block.endsWith("\n");
  if (endsOpen && !wanted.has(last.name.toLowerCase())) return out;
  return out + "\r\n";
}

const PIECES = [
  "From",
  "from",
  "SUBJECT",
  "To",
  "X-Odd",
  "Received",
  ":",
  ": ",
  " :",
  "\t",
  " ",
  "\r\n",
  "\n",
  "\r",
  "value",
  "a@b",
  "\r\n\r\n",
  "\r\n ",
  "\n\t",
  "no colon here",
  "\xe9\xff",
];

test("HEADER.FIELDS and HEADER.FIELDS.NOT answer as the parsed fields do, on 3,000 seeded odd blocks", () => {
  const bits = seededBits(11);
  const pick = <T>(list: readonly T[]): T => list[bits(1)[0]! % list.length]!;
  const names = ["From", "subject", "x-odd", "Bcc", "no colon here"];
  for (let n = 0; n < 3_000; n++) {
    let block = "";
    const length = bits(1)[0]! % 24;
    for (let i = 0; i < length; i++) block += pick(PIECES);
    const asked = names.filter(() => bits(1)[0]! % 2 === 0);
    for (const not of [false, true]) {
      assert.equal(
        headerFields(block, asked, not),
        fromParsedFields(block, asked, not),
        `block ${JSON.stringify(block)}, names ${JSON.stringify(asked)}, not ${not}`,
      );
    }
  }
});
