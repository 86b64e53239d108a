/** WITHIN (RFC 5032): YOUNGER and OLDER compare the internal date with now, in seconds. */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

/** An IMAP date-time `days` days before now. */
function daysAgo(days: number): string {
  const d = new Date(Date.now() - days * 86_400_000);
  const mon = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Within");
  await appendRaw(c, "Within", message("old", "a"), "", daysAgo(10));
  await appendRaw(c, "Within", message("recent seen", "b"), "\\Seen", daysAgo(1));
  await appendRaw(c, "Within", message("recent", "c"), "", daysAgo(2));
  await c.command("SELECT Within");
});

test("WITHIN is announced", async () => {
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("WITHIN"));
});

test("RFC 5032 §3: YOUNGER n and OLDER n, with other keys and under NOT", async () => {
  const search = async (criteria: string) => (await c.command(`SEARCH ${criteria}`))[0];
  // The RFC's example: unseen messages of the last three days.
  assert.equal(await search("UNSEEN YOUNGER 259200"), "* SEARCH 3");
  assert.equal(await search("YOUNGER 259200"), "* SEARCH 2 3");
  assert.equal(await search("OLDER 259200"), "* SEARCH 1");
  assert.equal(await search("NOT OLDER 129600"), "* SEARCH 2");
  assert.equal(await search("OR YOUNGER 100000 OLDER 800000"), "* SEARCH 1 2");
  assert.match(tagged(await c.command("SEARCH YOUNGER")), /^BAD /);
  assert.match(tagged(await c.command("SEARCH OLDER -5")), /^BAD /);
});
