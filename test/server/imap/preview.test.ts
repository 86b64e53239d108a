/** PREVIEW (RFC 8970) through the server: FETCH PREVIEW, PREVIEW (LAZY), and its grammar. */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Prev");
  await appendRaw(c, "Prev", message("one", "Preview text!\r\n> quoted\r\nand more."));
  await appendRaw(c, "Prev", message("two", "Preview text 2!"));
  await appendRaw(
    c,
    "Prev",
    message(
      "three",
      "Gr=C3=BC=C3=9Fe aus K=C3=B6ln",
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
    ),
  );
  await c.command("SELECT Prev");
});

test("PREVIEW is announced", async () => {
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("PREVIEW"));
});

test("RFC 8970 §5 example: PREVIEW, then PREVIEW (LAZY) NIL for one not made yet, then PREVIEW", async () => {
  assert.equal((await c.command("FETCH 1 (PREVIEW)"))[0], '* 1 FETCH (PREVIEW "Preview text! and more.")');
  assert.equal((await c.command("FETCH 2 (PREVIEW (LAZY))"))[0], "* 2 FETCH (PREVIEW NIL)");
  assert.equal((await c.command("FETCH 2 (PREVIEW)"))[0], '* 2 FETCH (PREVIEW "Preview text 2!")');
  // Made once, it is kept: LAZY now has it.
  assert.equal((await c.command("FETCH 2 (PREVIEW (LAZY))"))[0], '* 2 FETCH (PREVIEW "Preview text 2!")');
});

test("RFC 8970: a preview is UTF-8 text, decoded from its transfer encoding; 8-bit goes as a literal", async () => {
  const line = (await c.command("UID FETCH 3 (PREVIEW)"))[0]!;
  assert.equal(line, "* 3 FETCH (UID 3 PREVIEW {17}\r\nGr\u00fc\u00dfe aus K\u00f6ln)");
});

test("PREVIEW does not set \\Seen, and goes beside other items", async () => {
  const lines = await c.command("FETCH 1 (FLAGS PREVIEW RFC822.SIZE)");
  assert.match(
    lines[0]!,
    /^\* 1 FETCH \(FLAGS \(\\Recent\) PREVIEW "Preview text! and more." RFC822.SIZE \d+\)$/,
  );
});

test("RFC 8970 §6: an unknown PREVIEW modifier is BAD", async () => {
  assert.match(tagged(await c.command("FETCH 1 (PREVIEW (FUZZY))")), /^BAD .*PREVIEW modifier/);
  assert.match(tagged(await c.command("FETCH 1 (PREVIEW ())")), /^BAD /);
});
