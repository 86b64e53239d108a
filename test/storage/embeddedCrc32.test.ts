/** The row log's CRC-32 is the standard one, whichever implementation this Node provides. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32, tableCrc32 } from "../../src/storage/embedded/crc32.ts";

test("CRC-32 of the standard check string is CBF43926, natively and by table", () => {
  const check = new TextEncoder().encode("123456789");
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(tableCrc32(check), 0xcbf43926);
  assert.equal(tableCrc32(new Uint8Array(0)), 0);
});

test("the table CRC-32 agrees with the one in use on seeded random buffers", () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let round = 0; round < 200; round++) {
    const data = Uint8Array.from({ length: round * 37 }, next);
    assert.equal(tableCrc32(data), crc32(data), `length ${data.length}`);
  }
});
