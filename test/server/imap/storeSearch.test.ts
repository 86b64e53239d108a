/** STORE (.SILENT, UNCHANGEDSINCE), SEARCH keys, ESEARCH and SAVE, as raw lines. */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

before(async () => {
  c = await loggedIn(await ready());
  await appendRaw(
    c,
    "INBOX",
    message("Quarterly report", "The numbers are up."),
    "",
    "01-Feb-2026 09:00:00 +0000",
  );
  await appendRaw(
    c,
    "INBOX",
    message("Lunch?", "Shall we meet at noon? Zebra crossing."),
    "\\Seen",
    "15-Feb-2026 12:00:00 +0000",
  );
  await appendRaw(
    c,
    "INBOX",
    "From: =?UTF-8?B?SsO8cmdlbg==?= <jurgen@example.de>\r\nTo: bob@example.net\r\nCc: carol@example.org\r\n" +
      "Subject: =?UTF-8?Q?=C3=9Cbersicht?=\r\nDate: Sun, 1 Mar 2026 10:00:00 +0100\r\nX-Tracker: 4711\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus M=C3=BCnchen\r\n",
    "\\Flagged",
    "01-Mar-2026 09:00:00 +0000",
  );
  await c.command("SELECT INBOX");
});

const search = async (criteria: string) => (await c.command(`SEARCH ${criteria}`))[0];

test("SEARCH matches flags, dates, sizes, headers (decoded, any case) and bodies (decoded)", async () => {
  assert.equal(await search("ALL"), "* SEARCH 1 2 3");
  assert.equal(await search("SEEN"), "* SEARCH 2");
  assert.equal(await search("UNSEEN"), "* SEARCH 1 3");
  assert.equal(await search("FLAGGED"), "* SEARCH 3");
  assert.equal(await search("SUBJECT report"), "* SEARCH 1");
  assert.equal(await search("SUBJECT übersicht"), "* SEARCH 3");
  assert.equal(await search("FROM jürgen"), "* SEARCH 3");
  assert.equal(await search("CC carol"), "* SEARCH 3");
  assert.equal(await search("HEADER X-Tracker 4711"), "* SEARCH 3");
  assert.equal(await search('HEADER X-Tracker ""'), "* SEARCH 3");
  assert.equal(await search("BODY zebra"), "* SEARCH 2");
  assert.equal(await search("BODY münchen"), "* SEARCH 3");
  assert.equal(await search("TEXT lunch"), "* SEARCH 2");
  assert.equal(await search("SINCE 10-Feb-2026"), "* SEARCH 2 3");
  assert.equal(await search("BEFORE 10-Feb-2026"), "* SEARCH 1");
  assert.equal(await search("ON 15-Feb-2026"), "* SEARCH 2");
  assert.equal(await search("SENTON 1-Mar-2026"), "* SEARCH 3");
  assert.equal(await search("SENTBEFORE 2-Mar-2026"), "* SEARCH 3");
  assert.equal(await search("LARGER 100000"), "* SEARCH");
  assert.equal(await search("OR SEEN FLAGGED"), "* SEARCH 2 3");
  assert.equal(await search("NOT SEEN SUBJECT report"), "* SEARCH 1");
  assert.equal(await search("(OR 1 3) UNFLAGGED"), "* SEARCH 1");
  assert.equal(await search("2:*"), "* SEARCH 2 3");
  assert.equal(await search("CHARSET UTF-8 SUBJECT übersicht"), "* SEARCH 3");
  assert.match(tagged(await c.command("SEARCH CHARSET KOI8-R ALL")), /^NO \[BADCHARSET/);
  assert.equal((await c.command("UID SEARCH UID 2:3 SEEN"))[0], "* SEARCH 2");
});

test("ESEARCH RETURN gives MIN, MAX, COUNT and ALL with the tag; SAVE feeds $", async () => {
  const tag = c.nextTag();
  c.write(`${tag} SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN\r\n`);
  const r = await c.until(tag);
  assert.equal(r[0], `* ESEARCH (TAG "${tag}") MIN 1 MAX 3 ALL 1,3 COUNT 2`);
  const u = c.nextTag();
  c.write(`${u} UID SEARCH RETURN () ALL\r\n`);
  assert.equal((await c.until(u))[0], `* ESEARCH (TAG "${u}") UID ALL 1:3`);
  const s = await c.command("SEARCH RETURN (SAVE) FLAGGED");
  assert.equal(s.length, 1);
  assert.equal((await c.command("FETCH $ (UID)"))[0], "* 3 FETCH (UID 3)");
});

test("STORE answers with FETCH FLAGS; .SILENT does not; UNCHANGEDSINCE reports MODIFIED", async () => {
  const r = await c.command("STORE 1 +FLAGS (\\Answered)");
  assert.match(r[0]!, /^\* 1 FETCH \(UID 1 FLAGS \(\\Answered \\Recent\)/);
  assert.equal(tagged(r), "OK STORE completed");
  const silent = await c.command("STORE 1 -FLAGS.SILENT (\\Answered)");
  assert.equal(silent.length, 1);
  const same = await c.command("STORE 2 +FLAGS (\\Seen)");
  assert.match(
    same[0]!,
    /^\* 2 FETCH \(UID 2 FLAGS \(\\Seen \\Recent\)/,
    "an unchanged message still gets its FETCH",
  );
  const ms = (await c.command("FETCH 1:3 (MODSEQ)"))
    .slice(0, 3)
    .map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1]));
  const threshold = Math.min(...ms);
  const cond = await c.command(`STORE 1:3 (UNCHANGEDSINCE ${threshold}) +FLAGS.SILENT (\\Deleted)`);
  const modified = ms.map((m, i) => (m > threshold ? i + 1 : 0)).filter((n) => n > 0);
  const unchanged = ms.map((m, i) => (m <= threshold ? i + 1 : 0)).filter((n) => n > 0);
  assert.ok(modified.length > 0 && unchanged.length > 0, `modseqs ${ms.join(",")}`);
  assert.match(tagged(cond), new RegExp(`^OK \\[MODIFIED ${modified.join(",")}\\]`));
  assert.match(cond[0]!, /^\* \d FETCH \(UID \d FLAGS \(.*\\Deleted.*\) MODSEQ \(\d+\)\)$/);
  assert.equal(await search("DELETED"), `* SEARCH ${unchanged.join(" ")}`);
  const modseqHit = await c.command(`SEARCH MODSEQ ${threshold + 1}`);
  assert.match(modseqHit[0]!, /^\* SEARCH \d.* \(MODSEQ \d+\)$/);
  assert.match(tagged(await c.command("STORE 1 FLAGS (\\Recent)")), /^OK /);
});
