/** SORT and THREAD (RFC 5256) through the server: parsing, searching, meta and the responses. */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

function mail(from: string, subject: string, date: string, id: string, refs = "", body = "x"): string {
  return (
    `From: ${from}\r\nTo: list@example.org\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <${id}>\r\n` +
    (refs ? `References: ${refs}\r\n` : "") +
    `\r\n${body}\r\n`
  );
}

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Threads");
  const msgs = [
    mail(
      "Carol <carol@example.org>",
      "Plan",
      "Mon, 2 Mar 2026 10:00:00 +0000",
      "p1@x",
      "",
      "a longer body here",
    ),
    mail("alice@example.org", "Re: Plan", "Mon, 2 Mar 2026 12:00:00 +0100", "p2@x", "<p1@x>"),
    mail("Bob <bob@example.org>", "=?UTF-8?Q?Caf=C3=A9?=", "Sun, 1 Mar 2026 09:00:00 +0000", "c1@x"),
    mail("dave@example.org", "Re: Plan", "Tue, 3 Mar 2026 08:00:00 +0000", "p3@x", "<p1@x> <p2@x>"),
    mail("eve@example.org", "Re: Café", "no date at all", "c2@x", "<gone@x>"),
  ];
  for (const [i, m] of msgs.entries())
    await appendRaw(c, "Threads", m, i === 1 ? "\\Seen" : "", `0${i + 1}-Apr-2026 10:00:00 +0000`);
  await c.command("SELECT Threads");
});

test("SORT and THREAD are announced (RFC 5256 §1)", async () => {
  const caps = (await c.command("CAPABILITY"))[0]!;
  for (const cap of ["SORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"])
    assert.ok(caps.split(" ").includes(cap), caps);
});

test("RFC 5256 §3: SORT orders the matches by its criteria; UID SORT answers UIDs", async () => {
  const sort = async (args: string) => (await c.command(args))[0];
  assert.equal(await sort("SORT (SUBJECT) UTF-8 ALL"), "* SORT 3 5 1 2 4");
  // Dates in UTC: message 2 (12:00 +0100) is 11:00 UTC; message 5 has no Date: its internal date.
  assert.equal(await sort("SORT (DATE) UTF-8 ALL"), "* SORT 3 1 2 4 5");
  assert.equal(await sort("SORT (REVERSE ARRIVAL) US-ASCII ALL"), "* SORT 5 4 3 2 1");
  assert.equal(await sort("SORT (FROM) UTF-8 ALL"), "* SORT 2 3 1 4 5");
  const sizes = (await c.command("FETCH 1:* (RFC822.SIZE)"))
    .slice(0, -1)
    .map((l) => ({ seq: Number(/^\* (\d+)/.exec(l)![1]), size: Number(/RFC822\.SIZE (\d+)/.exec(l)![1]) }));
  const bySize = sizes
    .filter((m) => m.seq !== 2)
    .sort((x, y) => x.size - y.size || x.seq - y.seq)
    .map((m) => m.seq);
  assert.equal(await sort("SORT (SIZE) UTF-8 UNSEEN"), `* SORT ${bySize.join(" ")}`);
  assert.equal(await sort("SORT (REVERSE SIZE) UTF-8 UNSEEN"), `* SORT ${bySize.reverse().join(" ")}`);
  assert.equal(await sort("UID SORT (SUBJECT DATE) UTF-8 SUBJECT plan"), "* SORT 1 2 4");
  assert.match(tagged(await c.command("SORT (SUBJECT) ISO-8859-1 ALL")), /^NO \[BADCHARSET/);
  assert.match(tagged(await c.command("SORT (WEIGHT) UTF-8 ALL")), /^BAD /);
  assert.match(tagged(await c.command("SORT SUBJECT UTF-8 ALL")), /^BAD /);
  assert.match(tagged(await c.command("SORT (REVERSE) UTF-8 ALL")), /^BAD /);
});

test("RFC 5256 §4: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES", async () => {
  assert.equal((await c.command("THREAD ORDEREDSUBJECT UTF-8 ALL"))[0], "* THREAD (3 5)(1 (2)(4))");
  assert.equal((await c.command("THREAD REFERENCES UTF-8 ALL"))[0], "* THREAD (3 5)(1 2 4)");
  assert.equal((await c.command("UID THREAD REFERENCES UTF-8 NOT FROM dave"))[0], "* THREAD (3 5)(1 2)");
  assert.match(tagged(await c.command("THREAD BYWEIGHT UTF-8 ALL")), /^BAD /);
});
