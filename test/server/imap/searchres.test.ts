/** SEARCHRES (RFC 5182): SEARCH RETURN (SAVE) fills `$`, which later commands use as a message set. */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Res");
  await c.command("CREATE ResCopy");
  for (let i = 1; i <= 5; i++)
    await appendRaw(c, "Res", message(`r${i}`, "x".repeat(i * 1000)), i % 2 ? "\\Flagged" : "");
  await c.command("SELECT Res");
});

test("SEARCHRES is announced", async () => {
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("SEARCHRES"));
});

test("RFC 5182 §2.1, §3: $ feeds FETCH, STORE, UID COPY and a later SEARCH", async () => {
  assert.equal(
    tagged(await c.command('SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')),
    "OK SEARCH completed, result saved",
  );
  assert.deepEqual((await c.command("FETCH $ (UID)")).slice(0, -1), [
    "* 1 FETCH (UID 1)",
    "* 3 FETCH (UID 3)",
    "* 5 FETCH (UID 5)",
  ]);
  const store = await c.command("STORE $ +FLAGS (\\Answered)");
  assert.equal(store.length, 4, store.join("\n"));
  assert.match(tagged(await c.command("UID COPY $ ResCopy")), /^OK \[COPYUID \d+ 1,3,5 1,2,3\]/);
  assert.equal((await c.command("SEARCH $ SMALLER 4500"))[0], "* SEARCH 1 3");
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH 1 3 5");
});

test("RFC 5182 §2.1: with MIN and MAX only, $ holds those two; with COUNT, all matches", async () => {
  await c.command("SEARCH RETURN (SAVE MIN MAX) FLAGGED");
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH 1 5");
  await c.command("SEARCH RETURN (SAVE COUNT) FLAGGED");
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH 1 3 5");
});

test("RFC 5182 §2.1: an expunged message leaves $; SELECT empties it", async () => {
  await c.command("SEARCH RETURN (SAVE) FLAGGED");
  await c.command("UID STORE 3 +FLAGS.SILENT (\\Deleted)");
  await c.command("EXPUNGE");
  assert.deepEqual((await c.command("FETCH $ (UID)")).slice(0, -1), [
    "* 1 FETCH (UID 1)",
    "* 4 FETCH (UID 5)",
  ]);
  await c.command("SELECT Res");
  assert.deepEqual((await c.command("FETCH $ (UID)")).slice(0, -1), []);
});

test("RFC 5182 §2.1: a SEARCH or SORT with SAVE that fails empties $ (NO and BAD alike)", async () => {
  await c.command("SELECT Res");
  const filled = async () => {
    await c.command("SEARCH RETURN (SAVE) FLAGGED");
    assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH 1 5");
  };
  await filled();
  assert.match(tagged(await c.command("SEARCH RETURN (SAVE) CHARSET KOI8-R FROM x")), /^NO \[BADCHARSET/);
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH");
  await filled();
  assert.match(tagged(await c.command("SEARCH RETURN (SAVE) FROBNICATE")), /^BAD /);
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH");
  await filled();
  assert.match(tagged(await c.command("UID SORT RETURN (SAVE) (DATE) KOI8-R ALL")), /^NO \[BADCHARSET/);
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH");
  // A failure of a command without SAVE leaves $ alone.
  await filled();
  assert.match(tagged(await c.command("SEARCH FROBNICATE")), /^BAD /);
  assert.equal((await c.command("UID SEARCH UID $"))[0], "* SEARCH 1 5");
});
