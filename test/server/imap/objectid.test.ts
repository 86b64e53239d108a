/** OBJECTID (RFC 8474): MAILBOXID, EMAILID (kept by MOVE), THREADID NIL, and searching by them. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();
const OBJECTID = /^[A-Za-z0-9_-]{1,255}$/;

test("RFC 8474 §4: CREATE, SELECT and STATUS give the same MAILBOXID; it survives RENAME", async () => {
  const c = await loggedIn(server());
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("OBJECTID"));
  const created = /MAILBOXID \(([^)]+)\)/.exec(tagged(await c.command("CREATE Objects")))?.[1];
  assert.match(created ?? "", OBJECTID);
  assert.ok((await c.command("EXAMINE Objects")).includes(`* OK [MAILBOXID (${created})] mailbox id`));
  await c.command("RENAME Objects Things");
  assert.equal(
    (await c.command("STATUS Things (MAILBOXID)"))[0],
    `* STATUS "Things" (MAILBOXID (${created}))`,
  );
  c.close();
});

test("RFC 8474 §5, §6: EMAILID is kept by MOVE, THREADID is NIL, SEARCH EMAILID finds the message", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Src");
  await c.command("CREATE Dst");
  await appendRaw(c, "Src", message("o1", "one"));
  await appendRaw(c, "Src", message("o2", "two"));
  await c.command("SELECT Src");
  const f = await c.command("FETCH 1:2 (EMAILID THREADID)");
  const ids = f.slice(0, -1).map((l) => /EMAILID \(([^)]+)\)/.exec(l)![1]!);
  assert.match(f[0]!, /^\* 1 FETCH \(EMAILID \([A-Za-z0-9_-]+\) THREADID NIL\)$/);
  assert.notEqual(ids[0], ids[1]);
  assert.equal((await c.command(`SEARCH EMAILID ${ids[1]}`))[0], "* SEARCH 2");
  assert.equal((await c.command(`SEARCH NOT EMAILID ${ids[1]}`))[0], "* SEARCH 1");
  assert.equal((await c.command("SEARCH THREADID T1"))[0], "* SEARCH");
  assert.match(tagged(await c.command("SEARCH EMAILID a.b")), /^BAD /);
  await c.command("MOVE 2 Dst");
  await c.command("SELECT Dst");
  const moved = await c.command("FETCH 1 (UID EMAILID BODY.PEEK[TEXT])");
  assert.match(moved[0]!, new RegExp(`EMAILID \\(${ids[1]}\\)`));
  c.close();
});
