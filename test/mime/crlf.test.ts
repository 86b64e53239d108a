/** Bare LFs become CRLF, in memory and chunk by chunk, and nothing else changes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { toCrlf, toCrlfBytes } from "../../src/mime/crlf.ts";
import { propertyRuns } from "../support/propertyRuns.ts";

/** The rule spelt out byte by byte: an LF not after a CR gets one. */
function reference(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  bytes.forEach((c, i) => {
    if (c === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(c);
  });
  return Uint8Array.from(out);
}

const text = fc.uint8Array({ maxLength: 200 }).map((a) => a.map((b) => [0x0a, 0x0d, 0x41, 0x20][b % 4]!));

test("toCrlfBytes adds a CR before every bare LF and only there", () => {
  fc.assert(
    fc.property(text, (bytes) => {
      assert.deepEqual(toCrlfBytes(bytes), reference(bytes));
    }),
    { numRuns: propertyRuns({ full: 2_000, fast: 700 }), seed: 3 },
  );
});

test("toCrlf gives the same bytes whatever the chunking, a CR at a chunk's end included", async () => {
  await fc.assert(
    fc.asyncProperty(text, fc.array(fc.nat(200), { maxLength: 5 }), async (bytes, cuts) => {
      const at = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
      const chunks = at.slice(1).map((end, i) => bytes.subarray(at[i], end));
      const parts: Uint8Array[] = [];
      for await (const part of toCrlf(chunks)) parts.push(part);
      assert.deepEqual(new Uint8Array(Buffer.concat(parts)), reference(bytes));
    }),
    { numRuns: propertyRuns({ full: 1_000, fast: 350 }), seed: 4 },
  );
});

test("a message already in CRLF form comes back as the same bytes, not a copy", () => {
  const bytes = Buffer.from("Subject: x\r\n\r\nbody\r\n");
  assert.equal(toCrlfBytes(bytes), bytes);
});
