/**
 * UTF8=ACCEPT (RFC 6855): after ENABLE UTF8=ACCEPT, mailbox names and quoted strings are UTF-8, and
 * APPEND takes a message with UTF-8 headers as `UTF8 (~{n}...)`. A client that did not enable it
 * keeps modified UTF-7 names.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let utf8: RawImap;
let plain: RawImap;

const GREETING =
  "From: Jürgen <juergen@example.org>\r\nTo: alice@example.org\r\nSubject: Grüße aus Köln\r\n" +
  "Message-ID: <gruesse@example.org>\r\n\r\nViele Grüße.\r\n";

/** APPEND with the RFC 6855 §4 data item: `UTF8 (~{n}`, the bytes, then `)`. */
async function appendUtf8(c: RawImap, mailbox: string, raw: string): Promise<string[]> {
  const tag = c.nextTag();
  const bytes = Buffer.from(raw);
  c.write(`${tag} APPEND ${mailbox} UTF8 (~{${bytes.length}}\r\n`);
  const cont = await c.readLine();
  if (!cont.startsWith("+")) return [cont, ...(cont.startsWith(tag) ? [] : await c.until(tag))];
  c.write(Buffer.concat([bytes, Buffer.from(")\r\n")]));
  return c.until(tag);
}

before(async () => {
  const server = await ready();
  utf8 = await loggedIn(server);
  plain = await loggedIn(server);
});

test("RFC 6855 §3: UTF8=ACCEPT is announced and ENABLE turns it on", async () => {
  assert.ok((await utf8.command("CAPABILITY"))[0]!.split(" ").includes("UTF8=ACCEPT"));
  assert.deepEqual(await utf8.command("ENABLE UTF8=ACCEPT"), [
    "* ENABLED UTF8=ACCEPT",
    "A3 OK ENABLE completed",
  ]);
  // Once on, asking again enables nothing new.
  assert.equal((await utf8.command("ENABLE UTF8=ACCEPT"))[0], "* ENABLED");
});

test("RFC 6855 §3: mailbox names are UTF-8 once enabled, modified UTF-7 for the other client", async () => {
  assert.match(tagged(await utf8.command('CREATE "Привет/Entwürfe"')), /^OK/);
  assert.match(tagged(await utf8.command('CREATE "R&D"')), /^OK/);
  const mine = await utf8.command('LIST "" "*"');
  assert.ok(mine.includes('* LIST (\\HasChildren) "/" "Привет"'), mine.join("\n"));
  assert.ok(mine.includes('* LIST (\\HasNoChildren) "/" "Привет/Entwürfe"'), mine.join("\n"));
  // "&" is itself in a UTF-8 name, not the start of modified base64.
  assert.ok(mine.includes('* LIST (\\HasNoChildren) "/" "R&D"'), mine.join("\n"));
  const theirs = await plain.command('LIST "" "*"');
  assert.ok(
    theirs.includes('* LIST (\\HasNoChildren) "/" "&BB8EQAQ4BDIENQRC-/Entw&APw-rfe"'),
    theirs.join("\n"),
  );
  assert.ok(theirs.includes('* LIST (\\HasNoChildren) "/" "R&-D"'), theirs.join("\n"));
  // A pattern in UTF-8, and STATUS with the UTF-8 name.
  assert.ok(
    (await utf8.command('LIST "" "Привет/%"')).includes('* LIST (\\HasNoChildren) "/" "Привет/Entwürfe"'),
  );
  assert.equal(
    (await utf8.command('STATUS "Привет/Entwürfe" (MESSAGES)'))[0],
    '* STATUS "Привет/Entwürfe" (MESSAGES 0)',
  );
});

test("RFC 6855 §3: a name that is not UTF-8 is refused", async () => {
  utf8.write(Buffer.concat([Buffer.from('B1 CREATE "'), Buffer.from([0xc3, 0x28]), Buffer.from('"\r\n')]));
  assert.match((await utf8.until("B1")).at(-1)!, /^B1 BAD /);
});

test("RFC 6855 §4: APPEND UTF8 (literal8) stores a message with UTF-8 headers as sent; SEARCH finds it by a UTF-8 string", async () => {
  const box = '"Привет/Entwürfe"';
  const lines = await appendUtf8(utf8, box, GREETING);
  assert.match(lines.at(-1)!, /^A\d+ OK \[APPENDUID \d+ 1\]/);
  await utf8.command(`SELECT ${box}`);
  const fetched = (await utf8.command("FETCH 1 BODY.PEEK[]")).join("\r\n");
  assert.ok(fetched.includes(GREETING), fetched);
  assert.equal((await utf8.command('SEARCH SUBJECT "grüße"'))[0], "* SEARCH 1");
  assert.equal((await utf8.command('SEARCH FROM "Jürgen"'))[0], "* SEARCH 1");
});

test("RFC 6855 §4: APPEND UTF8 before ENABLE UTF8=ACCEPT is BAD, and nothing is stored", async () => {
  const lines = await appendUtf8(plain, "INBOX", GREETING);
  assert.match(lines.at(-1)!, /^A\d+ BAD .*UTF8=ACCEPT/);
  assert.equal((await plain.command("STATUS INBOX (MESSAGES)"))[0], '* STATUS "INBOX" (MESSAGES 0)');
});
