/** UNAUTHENTICATE (RFC 8437): back to the not-authenticated state on the same connection. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendRaw, connected, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();

test("RFC 8437: UNAUTHENTICATE closes the mailbox, forgets ENABLE, and a new LOGIN works", async () => {
  const c = await loggedIn(server());
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("UNAUTHENTICATE"));
  await appendRaw(c, "INBOX", message("unauth", "body"));
  await c.command("ENABLE CONDSTORE");
  await c.command("SELECT INBOX");
  assert.match((await c.command("FETCH 1 (FLAGS)"))[0]!, /MODSEQ/);
  assert.equal(tagged(await c.command("UNAUTHENTICATE")), "OK UNAUTHENTICATE completed");
  assert.match(tagged(await c.command("SELECT INBOX")), /^BAD .*log in first/);
  assert.match(tagged(await c.command("UNAUTHENTICATE")), /^BAD /);
  // Back to the pre-login capabilities (LITERAL- until the login).
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("LITERAL-"));
  assert.match(tagged(await c.command(`LOGIN ${server().user} "${server().password}"`)), /^OK /);
  const sel = await c.command("SELECT INBOX");
  assert.match(tagged(sel), /^OK \[READ-WRITE\]/);
  // CONDSTORE was forgotten: FETCH FLAGS carries no MODSEQ until it is enabled again.
  assert.doesNotMatch((await c.command("FETCH 1 (FLAGS)"))[0]!, /MODSEQ/);
  c.close();
});

test("RFC 8437: UNAUTHENTICATE is refused before login", async () => {
  const c = await connected(server());
  assert.match(tagged(await c.command("UNAUTHENTICATE")), /^BAD /);
  c.close();
});
