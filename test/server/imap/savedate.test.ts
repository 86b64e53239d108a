/**
 * SAVEDATE (RFC 8514): when a message was added to its mailbox (the add op's time), apart from its
 * internal date: FETCH SAVEDATE, SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE and SAVEDATESUPPORTED.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;
let startedAt: number;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const imapDay = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCDate()}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()}`;
};
const DAY = 24 * 3600 * 1000;

function dateOf(line: string, item: string): number {
  const m = new RegExp(`${item} "([^"]+)"`).exec(line);
  assert.ok(m, line);
  const [, day, mon, year, hh, mm, ss] = /^ ?(\d+)-(\w+)-(\d+) (\d+):(\d+):(\d+) \+0000$/.exec(m[1]!)!;
  return Date.UTC(Number(year), MONTHS.indexOf(mon!), Number(day), Number(hh), Number(mm), Number(ss));
}

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Saved");
  await c.command("CREATE SavedCopy");
  startedAt = Date.now();
  await appendRaw(c, "Saved", message("old", "from 2000"), "", "01-Jan-2000 10:00:00 +0000");
  await appendRaw(c, "Saved", message("new", "now"));
  await c.command("SELECT Saved");
});

test("SAVEDATE is announced", async () => {
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("SAVEDATE"));
});

test("RFC 8514 §3: FETCH SAVEDATE is when the message was saved here, whatever its internal date", async () => {
  const lines = await c.command("FETCH 1:2 (INTERNALDATE SAVEDATE)");
  assert.equal(dateOf(lines[0]!, "INTERNALDATE"), Date.UTC(2000, 0, 1, 10));
  for (const line of lines.slice(0, 2)) {
    const saved = dateOf(line, "SAVEDATE");
    assert.ok(saved >= Math.floor(startedAt / 1000) * 1000 && saved <= Date.now(), line);
  }
  // An index-only item: UID FETCH answers it beside FLAGS without reading meta.
  assert.match(
    (await c.command("UID FETCH 2 (FLAGS SAVEDATE)"))[0]!,
    /^\* 2 FETCH \(UID 2 FLAGS \([^)]*\) SAVEDATE "/,
  );
});

test("RFC 8514 §4: SAVEDON, SAVEDSINCE and SAVEDBEFORE use the save date; ON and BEFORE the internal date", async () => {
  const today = imapDay(Date.now());
  assert.equal((await c.command(`SEARCH SAVEDON ${today}`))[0], "* SEARCH 1 2");
  assert.equal((await c.command(`SEARCH ON ${today}`))[0], "* SEARCH 2");
  assert.equal((await c.command(`SEARCH SAVEDSINCE ${today}`))[0], "* SEARCH 1 2");
  assert.equal((await c.command(`SEARCH SAVEDBEFORE ${imapDay(Date.now() + DAY)}`))[0], "* SEARCH 1 2");
  assert.equal((await c.command("SEARCH SAVEDBEFORE 1-Jan-2001"))[0], "* SEARCH");
  assert.equal((await c.command("SEARCH BEFORE 1-Jan-2001"))[0], "* SEARCH 1");
  assert.equal((await c.command(`SEARCH SAVEDSINCE ${imapDay(Date.now() + DAY)}`))[0], "* SEARCH");
});

test("RFC 8514 §4: SAVEDATESUPPORTED matches every message of a mailbox that keeps save dates", async () => {
  assert.equal((await c.command("SEARCH SAVEDATESUPPORTED"))[0], "* SEARCH 1 2");
  assert.equal((await c.command("SEARCH NOT SAVEDATESUPPORTED"))[0], "* SEARCH");
});

test("RFC 8514 §3: a copy's save date is when it reached the other mailbox, not the original's", async () => {
  const original = dateOf((await c.command("FETCH 1 (SAVEDATE)"))[0]!, "SAVEDATE");
  await new Promise((r) => setTimeout(r, 1100)); // save dates have one-second precision on the wire
  assert.match(tagged(await c.command("COPY 1 SavedCopy")), /^OK/);
  await c.command("EXAMINE SavedCopy");
  const copied = dateOf((await c.command("FETCH 1 (SAVEDATE INTERNALDATE)"))[0]!, "SAVEDATE");
  assert.ok(copied > original, `copy saved ${copied}, original ${original}`);
  assert.equal(
    dateOf((await c.command("FETCH 1 (INTERNALDATE)"))[0]!, "INTERNALDATE"),
    Date.UTC(2000, 0, 1, 10),
  );
});
