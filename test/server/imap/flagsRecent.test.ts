/** Keywords announced in FLAGS before FETCH shows them, NIL refused as a keyword, and \Recent. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();

const SYSTEM = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

test("RFC 3501 §7.2.6: SELECT's FLAGS and PERMANENTFLAGS list the keywords the mailbox uses", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Kw");
  await appendRaw(c, "Kw", message("k1", "one"), "$Work Later");
  const sel = await c.command("SELECT Kw");
  assert.ok(sel.includes(`* FLAGS (${SYSTEM} $Work Later)`), sel.join("\n"));
  assert.ok(
    sel.includes(`* OK [PERMANENTFLAGS (${SYSTEM} $Work Later \\*)] flags permitted`),
    sel.join("\n"),
  );
  c.close();
});

test("RFC 3501 §7.2.6: a new keyword from another session is announced in FLAGS before the FETCH showing it", async () => {
  const a = await loggedIn(server());
  const b = await loggedIn(server());
  await a.command("CREATE Kw2");
  await appendRaw(a, "Kw2", message("k2", "two"), "\\Seen");
  await a.command("SELECT Kw2");
  await b.command("SELECT Kw2");
  await b.command("STORE 1 +FLAGS.SILENT ($Todo)");
  const noop = await a.command("NOOP");
  const flagsAt = noop.indexOf(`* FLAGS (${SYSTEM} $Todo)`);
  const permAt = noop.indexOf(`* OK [PERMANENTFLAGS (${SYSTEM} $Todo \\*)] flags permitted`);
  const fetchAt = noop.findIndex((l) => /^\* 1 FETCH .*\$Todo/.test(l));
  assert.ok(flagsAt >= 0 && permAt > flagsAt && fetchAt > permAt, noop.join("\n"));
  // Once announced, it is not announced again.
  await b.command("STORE 1 -FLAGS.SILENT ($Todo)");
  await b.command("STORE 1 +FLAGS.SILENT ($todo)");
  const again = await a.command("NOOP");
  assert.ok(!again.some((l) => l.startsWith("* FLAGS")), again.join("\n"));
  a.close();
  b.close();
});

test("RFC 3501 §7.2.6: the session's own STORE of a new keyword, and a FETCH, come after its FLAGS", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Kw3");
  await appendRaw(c, "Kw3", message("k3", "three"), "\\Seen");
  await c.command("SELECT Kw3");
  const store = await c.command("STORE 1 +FLAGS (Urgent)");
  assert.deepEqual(store.slice(0, 3), [
    `* FLAGS (${SYSTEM} Urgent)`,
    `* OK [PERMANENTFLAGS (${SYSTEM} Urgent \\*)] flags permitted`,
    "* 1 FETCH (UID 1 FLAGS (Urgent \\Seen \\Recent))",
  ]);
  // A keyword arriving with a new message: announced before the FETCH that shows it.
  const other = await loggedIn(server());
  await appendRaw(other, "Kw3", message("k4", "four"), "\\Seen Fresh");
  other.close();
  await c.command("NOOP");
  const fetch = await c.command("FETCH 2 (FLAGS)");
  assert.equal(fetch[0], `* FLAGS (${SYSTEM} Fresh Urgent)`);
  assert.match(fetch[2]!, /^\* 2 FETCH \(FLAGS \(Fresh \\Seen \\Recent\)\)$/);
  c.close();
});

test("a keyword spelled NIL is refused in STORE and APPEND (clients read NIL in a flag list as nothing)", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Kw4");
  await appendRaw(c, "Kw4", message("k5", "five"));
  await c.command("SELECT Kw4");
  assert.match(tagged(await c.command("STORE 1 +FLAGS (nil)")), /^BAD /);
  const tag = c.nextTag();
  c.write(`${tag} APPEND Kw4 (NIL) {5}\r\n`);
  const next = await c.readLine();
  if (next.startsWith("+")) c.write("hello\r\n");
  assert.match(next.startsWith("+") ? await c.readLine() : next, new RegExp(`^${tag} BAD `));
  const flags = await c.command("FETCH 1 (FLAGS)");
  assert.ok(!flags.some((l) => /NIL/i.test(l)), flags.join("\n"));
  c.close();
});

test("RFC 3501 §2.3.2: a new message is \\Recent to exactly one session; EXAMINE and STATUS do not take it", async () => {
  const a = await loggedIn(server());
  await a.command("CREATE Rc");
  await appendRaw(a, "Rc", message("r1", "one"), "\\Seen");
  await appendRaw(a, "Rc", message("r2", "two"));
  assert.equal((await a.command("STATUS Rc (RECENT)"))[0], '* STATUS "Rc" (RECENT 2)');
  const peek = await loggedIn(server());
  assert.ok((await peek.command("EXAMINE Rc")).includes("* 2 RECENT"));
  assert.equal((await peek.command("SEARCH RECENT"))[0], "* SEARCH 1 2");
  const b = await loggedIn(server());
  const sel = await b.command("SELECT Rc");
  assert.ok(sel.includes("* 2 RECENT"), sel.join("\n"));
  assert.equal((await b.command("FETCH 1 (FLAGS)"))[0], "* 1 FETCH (FLAGS (\\Seen \\Recent))");
  assert.equal((await b.command("SEARCH RECENT"))[0], "* SEARCH 1 2");
  assert.equal((await b.command("SEARCH NEW"))[0], "* SEARCH 2");
  assert.equal((await b.command("SEARCH OLD"))[0], "* SEARCH");
  assert.equal((await a.command("STATUS Rc (RECENT)"))[0], '* STATUS "Rc" (RECENT 0)');
  const c = await loggedIn(server());
  assert.ok((await c.command("SELECT Rc")).includes("* 0 RECENT"));
  assert.equal((await c.command("FETCH 1 (FLAGS)"))[0], "* 1 FETCH (FLAGS (\\Seen))");
  assert.equal((await c.command("SEARCH OLD"))[0], "* SEARCH 1 2");
  assert.equal((await c.command("SEARCH NOT RECENT"))[0], "* SEARCH 1 2");
  // A message arriving while both are selected goes to the first session told of it.
  await appendRaw(a, "Rc", message("r3", "three"));
  assert.deepEqual((await b.command("NOOP")).slice(0, 2), ["* 3 EXISTS", "* 3 RECENT"]);
  assert.deepEqual((await c.command("NOOP")).slice(0, 2), ["* 3 EXISTS", "* 0 RECENT"]);
  for (const s of [a, b, c, peek]) s.close();
});
