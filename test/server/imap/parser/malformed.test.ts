import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readAll } from "./readerHarness.ts";

/** Expands the corpus notation (<CR>, <LF>, <NUL>, <TAB>, <xNN>, <FILL n>) into bytes. */
function bytesOf(line: string): Buffer {
  const text = line.replace(/<(CR|LF|NUL|TAB|x[0-9a-fA-F]{2}|FILL \d+)>/g, (_, token: string) => {
    if (token === "CR") return "\r";
    if (token === "LF") return "\n";
    if (token === "NUL") return "\0";
    if (token === "TAB") return "\t";
    if (token.startsWith("FILL ")) return "x".repeat(Number(token.slice(5)));
    return String.fromCharCode(parseInt(token.slice(1), 16));
  });
  return Buffer.from(text, "latin1");
}

const corpus = readFileSync(new URL("./malformed.txt", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l !== "" && !l.startsWith("#"));

const limits = { maxLineBytes: 1000, maxLiteralBytes: 1000, appendLimit: 10_000 };

test("the malformed corpus holds at least 100 cases, none twice", () => {
  assert.ok(corpus.length >= 100, `${corpus.length} cases`);
  assert.equal(new Set(corpus).size, corpus.length);
});

for (const line of corpus) {
  test(`malformed: ${JSON.stringify(line.length > 70 ? line.slice(0, 70) + "..." : line)}`, async () => {
    const input = Buffer.concat([bytesOf(line), Buffer.from("\r\na1 NOOP\r\n")]);
    const { results } = await readAll([input], limits);
    assert.ok(results.length >= 2, `results: ${JSON.stringify(results)}`);
    for (const r of results.slice(0, -1)) {
      assert.ok(!("command" in r), `parsed as a command: ${JSON.stringify(r)}`);
      assert.ok(r.status === "BAD" || r.status === "NO");
      assert.ok(r.text.length > 5, "the failure says what was wrong");
      assert.notEqual(r.fatal, true);
    }
    assert.deepEqual(results.at(-1), { tag: "a1", command: { name: "NOOP" } });
  });
}
