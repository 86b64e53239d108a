/** COPY, MOVE, EXPUNGE, UID EXPUNGE, CLOSE, IDLE between sessions, and CONDSTORE/QRESYNC resync. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();

test("COPY answers COPYUID and keeps the source; MOVE sends COPYUID then EXPUNGE", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Box");
  for (let i = 1; i <= 3; i++) await appendRaw(c, "Box", message(`m${i}`, `body ${i}`));
  await c.command("SELECT Box");
  const uv = Number(/UIDVALIDITY (\d+)/.exec((await c.command("STATUS Archive (UIDVALIDITY)"))[0]!)![1]);
  const copy = await c.command("COPY 1:2 Archive");
  assert.equal(tagged(copy), `OK [COPYUID ${uv} 1,2 1,2] COPY completed`);
  assert.match(tagged(await c.command("COPY 1 Nowhere")), /^NO \[TRYCREATE\]/);
  const move = await c.command("UID MOVE 2 Archive");
  assert.deepEqual(move.slice(0, -1), [`* OK [COPYUID ${uv} 2 3] moved`, "* 2 EXPUNGE"]);
  assert.equal(tagged(move), "OK MOVE completed");
  const st = await c.command("STATUS Archive (MESSAGES)");
  assert.equal(st[0], '* STATUS "Archive" (MESSAGES 3)');
  const body = await c.command("FETCH 2 (BODY.PEEK[TEXT])");
  assert.equal(body[0], "* 2 FETCH (BODY[TEXT] {8}\r\nbody 3\r\n)");
  c.close();
});

test("EXPUNGE removes \\Deleted messages highest first; UID EXPUNGE only the given UIDs; CLOSE is silent", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Ex");
  for (let i = 1; i <= 5; i++)
    await appendRaw(c, "Ex", message(`e${i}`, `body ${i}`), i % 2 ? "\\Deleted" : "");
  await c.command("SELECT Ex");
  const ue = await c.command("UID EXPUNGE 5");
  assert.deepEqual(ue.slice(0, -1), ["* 5 EXPUNGE"]);
  const ex = await c.command("EXPUNGE");
  assert.deepEqual(ex.slice(0, -1), ["* 3 EXPUNGE", "* 1 EXPUNGE"]);
  assert.equal((await c.command("SEARCH ALL"))[0], "* SEARCH 1 2");
  await c.command("STORE 1 +FLAGS.SILENT (\\Deleted)");
  const close = await c.command("CLOSE");
  assert.deepEqual(close, [close[0]]);
  assert.match(tagged(close), /^OK /);
  assert.equal((await c.command("STATUS Ex (MESSAGES)"))[0], '* STATUS "Ex" (MESSAGES 1)');
  assert.match(tagged(await c.command("FETCH 1 FLAGS")), /^BAD .*select a mailbox first/);
  c.close();
});

test("IDLE hears another session's APPEND, flag change and expunge; DONE ends it", async () => {
  const watcher = await loggedIn(server());
  const writer = await loggedIn(server());
  await watcher.command("CREATE Watched");
  await watcher.command("SELECT Watched");
  watcher.write("I1 IDLE\r\n");
  assert.equal(await watcher.readLine(), "+ idling");
  await appendRaw(writer, "Watched", message("ping", "pong"));
  assert.equal(await watcher.readLine(), "* 1 EXISTS");
  // RFC 3501 §7.3.2: the watcher is the first session told of it, so it is \Recent to it.
  assert.equal(await watcher.readLine(), "* 1 RECENT");
  await writer.command("SELECT Watched");
  await writer.command("STORE 1 +FLAGS.SILENT (\\Seen)");
  assert.equal(await watcher.readLine(), "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))");
  await writer.command("STORE 1 +FLAGS.SILENT (\\Deleted)");
  await watcher.readLine();
  await writer.command("EXPUNGE");
  assert.equal(await watcher.readLine(), "* 1 EXPUNGE");
  watcher.write("DONE\r\n");
  assert.equal(await watcher.readLine(), "I1 OK IDLE terminated");
  watcher.close();
  writer.close();
});

test("CONDSTORE: FETCH CHANGEDSINCE gives only changes; QRESYNC SELECT replays VANISHED (EARLIER) and changed flags", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Sync");
  for (let i = 1; i <= 4; i++) await appendRaw(c, "Sync", message(`s${i}`, `body ${i}`));
  const sel = await c.command("SELECT Sync (CONDSTORE)");
  const uv = Number(/UIDVALIDITY (\d+)/.exec(sel.join("\n"))![1]);
  const hms = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.join("\n"))![1]);
  await c.command("STORE 2 +FLAGS.SILENT (\\Flagged)");
  const changed = await c.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${hms})`);
  assert.equal(changed.length, 2, changed.join("\n"));
  // \Recent: this session was the first to select Sync after the appends.
  assert.match(changed[0]!, /^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)$/);
  await c.command("STORE 3 +FLAGS.SILENT (\\Deleted)");
  await c.command("EXPUNGE");
  await c.command("LOGOUT");

  const q = await loggedIn(server());
  await q.command("ENABLE QRESYNC");
  const r = await q.command(`SELECT Sync (QRESYNC (${uv} ${hms}))`);
  assert.ok(r.includes("* VANISHED (EARLIER) 3"), r.join("\n"));
  assert.ok(
    r.some((l) => /^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/.test(l)),
    r.join("\n"),
  );
  const v = await q.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${hms} VANISHED)`);
  assert.equal(v[0], "* VANISHED (EARLIER) 3");
  q.close();
});

test("RFC 6851 §3.3: MOVE and COPY into the selected mailbox itself give the messages new UIDs", async () => {
  const c = await loggedIn(server());
  await c.command("CREATE Self");
  await appendRaw(c, "Self", message("s1", "first body"), "\\Flagged");
  await appendRaw(c, "Self", message("s2", "second body"));
  const sel = await c.command("SELECT Self");
  const uv = Number(/UIDVALIDITY (\d+)/.exec(sel.join("\n"))![1]);
  const move = await c.command("UID MOVE 1 Self");
  assert.deepEqual(move, [
    `* OK [COPYUID ${uv} 1 3] moved`,
    "* 1 EXPUNGE",
    "* 2 EXISTS",
    "* 2 RECENT",
    move.at(-1),
  ]);
  assert.equal(tagged(move), "OK MOVE completed");
  const copy = await c.command("UID COPY 2 Self");
  assert.equal(tagged(copy), `OK [COPYUID ${uv} 2 4] COPY completed`);
  const all = await c.command("UID FETCH 1:* (FLAGS BODY.PEEK[TEXT])");
  assert.deepEqual(all.slice(0, -1), [
    "* 1 FETCH (UID 2 FLAGS (\\Recent) BODY[TEXT] {13}\r\nsecond body\r\n)",
    "* 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent) BODY[TEXT] {12}\r\nfirst body\r\n)",
    "* 3 FETCH (UID 4 FLAGS (\\Recent) BODY[TEXT] {13}\r\nsecond body\r\n)",
  ]);
  c.close();
});
