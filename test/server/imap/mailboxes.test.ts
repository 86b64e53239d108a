/** LIST (with special use, children, LIST-EXTENDED, LIST-STATUS), LSUB, CREATE, RENAME, DELETE, STATUS. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();

test("a new account lists INBOX and the special-use mailboxes", async () => {
  const c = await loggedIn(server());
  const r = await c.command('LIST "" "*"');
  assert.deepEqual(r.slice(0, -1), [
    '* LIST (\\HasNoChildren) "/" "INBOX"',
    '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
    '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
    '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
    '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
    '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
  ]);
  assert.equal((await c.command('LIST "" ""'))[0], '* LIST (\\Noselect) "/" ""');
  const special = await c.command('LIST (SPECIAL-USE) "" "*"');
  assert.equal(special.length, 6);
  c.close();
});

test("CREATE makes parents, CHILDREN shows them, % stops at one level, and names travel in modified UTF-7", async () => {
  const c = await loggedIn(server());
  assert.match(
    tagged(await c.command("CREATE Projekte/Entw&APw-rfe")),
    /^OK \[MAILBOXID \([0-9a-f]+\)\] CREATE completed$/,
  );
  assert.match(tagged(await c.command("CREATE Projekte/Entw&APw-rfe")), /^NO \[ALREADYEXISTS\]/);
  const r = await c.command('LIST "" "Projekte*"');
  assert.deepEqual(r.slice(0, -1), [
    '* LIST (\\HasChildren) "/" "Projekte"',
    '* LIST (\\HasNoChildren) "/" "Projekte/Entw&APw-rfe"',
  ]);
  const top = await c.command('LIST "" "%"');
  assert.ok(top.includes('* LIST (\\HasChildren) "/" "Projekte"'));
  assert.ok(!top.some((l) => l.includes("Entw")));
  c.close();
});

test("RENAME moves children; DELETE removes; both refuse what does not exist", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Old/Child");
  assert.equal(tagged(await c.command("RENAME Old New")), "OK RENAME completed");
  const r = await c.command('LIST "" "New*"');
  assert.deepEqual(r.slice(0, -1), [
    '* LIST (\\HasChildren) "/" "New"',
    '* LIST (\\HasNoChildren) "/" "New/Child"',
  ]);
  assert.match(tagged(await c.command("RENAME Nowhere Else")), /^NO \[NONEXISTENT\]/);
  assert.equal(tagged(await c.command("DELETE New/Child")), "OK DELETE completed");
  assert.match(tagged(await c.command("DELETE New/Child")), /^NO \[NONEXISTENT\]/);
  assert.match(tagged(await c.command("DELETE INBOX")), /^NO /);
  c.close();
});

test("SUBSCRIBE shows in LSUB and LIST (SUBSCRIBED); STATUS counts; LIST-STATUS returns STATUS lines", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Lists");
  assert.equal(tagged(await c.command("SUBSCRIBE Lists")), "OK SUBSCRIBE completed");
  assert.ok((await c.command('LSUB "" "*"')).includes('* LSUB () "/" "Lists"'));
  const sub = await c.command('LIST (SUBSCRIBED) "" "Lists"');
  assert.equal(sub[0], '* LIST (\\HasNoChildren \\Subscribed) "/" "Lists"');
  assert.match(await appendRaw(c, "Lists", message("one", "first")), /OK \[APPENDUID \d+ 1\]/);
  assert.match(await appendRaw(c, "Lists", message("two", "second"), "\\Seen"), /OK \[APPENDUID \d+ 2\]/);
  const st = await c.command("STATUS Lists (MESSAGES UNSEEN UIDNEXT RECENT HIGHESTMODSEQ SIZE)");
  assert.match(
    st[0]!,
    /^\* STATUS "Lists" \(MESSAGES 2 UNSEEN 1 UIDNEXT 3 RECENT 2 HIGHESTMODSEQ \d+ SIZE \d+\)$/,
  );
  const ls = await c.command('LIST "" "Lists" RETURN (STATUS (MESSAGES UIDVALIDITY))');
  assert.equal(ls[0], '* LIST (\\HasNoChildren) "/" "Lists"');
  assert.match(ls[1]!, /^\* STATUS "Lists" \(MESSAGES 2 UIDVALIDITY \d+\)$/);
  assert.match(tagged(await c.command("STATUS Nowhere (MESSAGES)")), /^NO \[NONEXISTENT\]/);
  assert.equal(tagged(await c.command("UNSUBSCRIBE Lists")), "OK UNSUBSCRIBE completed");
  assert.ok(!(await c.command('LSUB "" "*"')).includes('* LSUB () "/" "Lists"'));
  c.close();
});

test("APPEND to a missing mailbox says TRYCREATE; an empty message is refused", async () => {
  const c = await loggedIn(server());
  assert.match(await appendRaw(c, "Missing", message("x", "y")), /NO \[TRYCREATE\]/);
  const r = await c.command("APPEND INBOX {0+}\r\n");
  assert.match(tagged(r), /^NO /);
  c.close();
});
