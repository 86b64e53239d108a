/**
 * ESORT (RFC 5267 §3.2): SORT RETURN (MIN MAX ALL COUNT SAVE) answers with an ESEARCH whose MIN
 * and MAX are the first and last in sort order and whose ALL keeps that order. CONTEXT=SORT (the
 * live updates) is not offered.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

/** Sent dates out of arrival order: sorted by DATE the sequence numbers are 3 1 4 2 5. */
const DATES = [
  ["b", "Tue, 1 Feb 1994 10:00:00 +0000"],
  ["d", "Thu, 3 Feb 1994 10:00:00 +0000"],
  ["a", "Mon, 31 Jan 1994 10:00:00 +0000"],
  ["c", "Wed, 2 Feb 1994 10:00:00 +0000"],
  ["e", "Fri, 4 Feb 1994 10:00:00 +0000"],
];

/** The ESEARCH line of a command, its tag written as T. */
async function esearch(command: string): Promise<string> {
  const lines = await c.command(command);
  assert.match(lines.at(-1)!, /^\S+ OK /, lines.join("\n"));
  return lines[0]!.replace(/^\* ESEARCH \(TAG "[^"]+"\)/, '* ESEARCH (TAG "T")');
}

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Sorted");
  for (const [subject, date] of DATES) {
    await appendRaw(
      c,
      "Sorted",
      `From: x@example.org\r\nSubject: ${subject}\r\nDate: ${date}\r\n\r\nbody\r\n`,
    );
  }
  await c.command("SELECT Sorted");
});

test("ESORT is announced; CONTEXT=SORT and CONTEXT=SEARCH are not", async () => {
  const caps = (await c.command("CAPABILITY"))[0]!.split(" ");
  assert.ok(caps.includes("ESORT"));
  assert.ok(!caps.some((cap) => cap.startsWith("CONTEXT=")));
});

test("RFC 5267 §3.2 examples: MIN COUNT, ALL in sort order, MIN MAX of the sorted result", async () => {
  assert.equal(
    await esearch("SORT RETURN (MIN COUNT) (DATE) UTF-8 SENTSINCE 1-Feb-1994"),
    `* ESEARCH (TAG "T") MIN 1 COUNT 4`,
  );
  assert.equal(await esearch("SORT RETURN (ALL) (DATE) UTF-8 ALL"), `* ESEARCH (TAG "T") ALL 3,1,4,2,5`);
  assert.equal(
    await esearch("SORT RETURN (ALL) (REVERSE DATE) UTF-8 ALL"),
    `* ESEARCH (TAG "T") ALL 5,2,4,1,3`,
  );
  assert.equal(
    await esearch("SORT RETURN (MIN MAX) (REVERSE DATE) UTF-8 ALL"),
    `* ESEARCH (TAG "T") MIN 5 MAX 3`,
  );
  // Numbers that follow each other upwards in sort order make a range.
  assert.equal(await esearch("SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL"), `* ESEARCH (TAG "T") ALL 1:5`);
});

test("UID SORT RETURN names UIDs; RETURN () means ALL; no match gives no MIN, MAX or ALL", async () => {
  assert.equal(
    await esearch("UID SORT RETURN () (SUBJECT) UTF-8 ALL"),
    `* ESEARCH (TAG "T") UID ALL 3,1,4,2,5`,
  );
  assert.equal(
    await esearch("SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 SUBJECT nothing"),
    `* ESEARCH (TAG "T") COUNT 0`,
  );
});

test("RFC 5267 with RFC 5182: SORT RETURN (SAVE) fills $; MIN with SAVE keeps the first in sort order", async () => {
  assert.equal(
    tagged(await c.command("SORT RETURN (SAVE) (DATE) UTF-8 SENTSINCE 2-Feb-1994")),
    "OK SORT completed, result saved",
  );
  assert.equal((await c.command("SEARCH $"))[0], "* SEARCH 2 4 5");
  await c.command("SORT RETURN (SAVE MIN) (REVERSE DATE) UTF-8 ALL");
  assert.equal((await c.command("SEARCH $"))[0], "* SEARCH 5");
});

test("an unknown SORT RETURN option is BAD", async () => {
  assert.match(
    tagged(await c.command("SORT RETURN (PARTIAL 1:10) (DATE) UTF-8 ALL")),
    /^BAD .*SORT RETURN option/,
  );
});
