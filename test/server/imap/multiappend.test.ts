/**
 * MULTIAPPEND (RFC 3502): several messages in one APPEND, stored all together or not at all, with
 * APPENDUID naming every UID (RFC 4315 §3).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { Unavailable } from "../../../src/errors.ts";
import type { Store } from "../../../src/storage/types.ts";
import type { RawImap } from "../../support/rawImap.ts";
import { loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

/** Blob puts fail from the `failFromPut`-th one on (counted while it is set). */
let failFromPut: number | undefined;
let puts = 0;

function failingBodies(inner: Store): Store {
  const blobs = Object.create(inner.blobs) as Store["blobs"];
  blobs.put = (key, bytes) => {
    if (failFromPut !== undefined && ++puts >= failFromPut)
      return Promise.reject(new Unavailable("storage host refused the body (test)"));
    return inner.blobs.put(key, bytes);
  };
  return { blobs, rows: inner.rows, close: () => inner.close() };
}

const { ready } = useServer({ wrap: failingBodies, appendLimit: 64 * 1024 });
let c: RawImap;

// RFC 3502 §6.3.11's example, its two messages.
const FIRST =
  "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n" +
  "Subject: afternoon meeting\r\nTo: mooch@owatagu.example.net\r\n" +
  "Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\nMIME-Version: 1.0\r\n" +
  "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
const SECOND =
  "Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\nFrom: Joe Mooch <mooch@OWaTaGu.example.net>\r\n" +
  "Subject: Re: afternoon meeting\r\nTo: foobar@blurdybloop.example.com\r\n" +
  "Message-Id: <a0434793874930@OWaTaGu.example.net>\r\nMIME-Version: 1.0\r\n" +
  "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n3:30 is fine with me.\r\n";

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE saved-messages");
});

async function messages(box: string): Promise<number> {
  const line = (await c.command(`STATUS ${box} (MESSAGES)`))[0]!;
  return Number(/MESSAGES (\d+)/.exec(line)![1]);
}

test("MULTIAPPEND is announced after login", async () => {
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("MULTIAPPEND"));
});

test("RFC 3502 §6.3.11 example: two messages with synchronizing literals, each with its flags and date", async () => {
  const tag = c.nextTag();
  c.write(`${tag} APPEND saved-messages (\\Seen) {${FIRST.length}}\r\n`);
  assert.match(await c.readLine(), /^\+ /);
  c.write(`${FIRST} (\\Seen) " 7-Feb-1994 22:43:04 -0800" {${SECOND.length}}\r\n`);
  assert.match(await c.readLine(), /^\+ /);
  c.write(`${SECOND}\r\n`);
  const done = (await c.until(tag)).at(-1)!;
  assert.match(done, /^\S+ OK \[APPENDUID \d+ 1:2\] APPEND completed$/);
  await c.command("EXAMINE saved-messages");
  const fetched = await c.command("FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
  assert.match(fetched[0]!, /^\* 1 FETCH \(FLAGS \(\\Seen[^)]*\) INTERNALDATE .*afternoon meeting/s);
  assert.match(
    fetched[1]!,
    /^\* 2 FETCH \(FLAGS \(\\Seen[^)]*\) INTERNALDATE " 8-Feb-1994 06:43:04 \+0000".*Re: afternoon/s,
  );
  await c.command("UNSELECT");
});

test("RFC 3502 with LITERAL+: the whole upload in one round trip", async () => {
  const parts = ["a", "b", "c"].map((s) => `Subject: ${s}\r\n\r\n${s}\r\n`);
  const tag = c.nextTag();
  c.write(`${tag} APPEND saved-messages ${parts.map((p) => `{${p.length}+}\r\n${p}`).join(" ")}\r\n`);
  assert.match((await c.until(tag)).at(-1)!, /OK \[APPENDUID \d+ 3:5\]/);
  assert.equal(await messages("saved-messages"), 5);
});

test("RFC 3502: one message refused (empty) refuses all: nothing is stored", async () => {
  const before = await messages("saved-messages");
  const tag = c.nextTag();
  c.write(`${tag} APPEND saved-messages {8+}\r\nX: 1\r\n\r\n {0+}\r\n {8+}\r\nX: 3\r\n\r\n\r\n`);
  assert.match((await c.until(tag)).at(-1)!, /NO .*empty.*message 2/);
  assert.equal(await messages("saved-messages"), before);
});

test("RFC 3502: a mailbox that does not exist is NO [TRYCREATE] and nothing is stored anywhere", async () => {
  const tag = c.nextTag();
  c.write(`${tag} APPEND bogusname (\\Flagged) {8+}\r\nX: 1\r\n\r\n {8+}\r\nX: 2\r\n\r\n\r\n`);
  assert.match((await c.until(tag)).at(-1)!, /NO \[TRYCREATE\]/);
  assert.match(tagged(await c.command('APPEND saved-messages "random junk" {1+}\r\nx')), /^BAD /);
});

test("RFC 3502: when storage fails part-way, none of the messages stays", async () => {
  await c.command("CREATE Atomic");
  const before = await messages("Atomic");
  puts = 0;
  failFromPut = 3; // the first two bodies are stored, the third fails
  try {
    const tag = c.nextTag();
    const body = (n: number) => `Subject: m${n}\r\n\r\n${"x".repeat(100 * n)}\r\n`;
    c.write(
      `${tag} APPEND Atomic ${[1, 2, 3, 4].map((n) => `{${body(n).length}+}\r\n${body(n)}`).join(" ")}\r\n`,
    );
    assert.match((await c.until(tag)).at(-1)!, /NO \[UNAVAILABLE\]/);
  } finally {
    failFromPut = undefined;
  }
  assert.equal(await messages("Atomic"), before, "no message of the failed MULTIAPPEND is listed");
  await c.command("SELECT Atomic");
  assert.deepEqual((await c.command("FETCH 1:* (UID)")).slice(0, -1), []);
  // The next APPEND works, and its UID follows whatever the failed one claimed.
  assert.match(tagged(await c.command("APPEND Atomic {8+}\r\nX: 9\r\n\r\n")), /^OK \[APPENDUID \d+ \d+\]/);
  assert.equal(await messages("Atomic"), before + 1);
});

test("a MULTIAPPEND larger in all than twice APPENDLIMIT is NO [TOOBIG] before its bytes are read", async () => {
  const tag = c.nextTag();
  const big = 60 * 1024;
  c.write(`${tag} APPEND saved-messages {${big}}\r\n`);
  assert.match(await c.readLine(), /^\+ /);
  c.write(`${"a".repeat(big)} {${big}}\r\n`);
  assert.match(await c.readLine(), /^\+ /);
  c.write(`${"b".repeat(big)} {${big}}\r\n`);
  assert.match((await c.until(tag)).at(-1)!, /NO \[TOOBIG\] .*in all/);
  assert.match(tagged(await c.command("NOOP")), /^OK/);
});

test("a MULTIAPPEND of 150 messages (more literals than other commands may carry) is one add", async () => {
  await c.command("CREATE Many");
  const tag = c.nextTag();
  const parts = Array.from({ length: 150 }, (_, i) => {
    const m = `Subject: many ${i}\r\n\r\n${i}\r\n`;
    return `{${m.length}+}\r\n${m}`;
  });
  c.write(`${tag} APPEND Many ${parts.join(" ")}\r\n`);
  assert.match((await c.until(tag)).at(-1)!, /OK \[APPENDUID \d+ 1:150\]/);
  assert.equal(await messages("Many"), 150);
});
