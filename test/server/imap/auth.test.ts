/** Greeting, CAPABILITY, LOGIN, AUTHENTICATE PLAIN, states and LOGOUT, as raw lines. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connected, loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

const { server } = useServer();

/** IMAP4rev2 follows IMAP4rev1 once every extension it folds in is announced (imap4rev2.test.ts). */
const CAPS =
  "IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR AUTH=PLAIN ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CONDSTORE QRESYNC " +
  "SPECIAL-USE CHILDREN LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES STATUS=SIZE UNAUTHENTICATE OBJECTID WITHIN UTF8=ACCEPT " +
  "MULTIAPPEND BINARY PREVIEW SAVEDATE ESORT APPENDLIMIT=";

test("the greeting carries the capabilities; CAPABILITY lists them all, and no STARTTLS without a certificate", async () => {
  const c = await connected(server());
  const r = await c.command("CAPABILITY");
  assert.match(r[0]!, new RegExp(`^\\* CAPABILITY ${CAPS.replace(/[+]/g, "\\+")}\\d+$`));
  assert.ok(!r[0]!.includes("STARTTLS"));
  assert.ok(!r[0]!.includes("COMPRESS"));
  assert.equal(tagged(r), "OK CAPABILITY completed");
  c.close();
});

test("commands that need a login are refused with BAD before it", async () => {
  const c = await connected(server());
  for (const cmd of ["SELECT INBOX", 'LIST "" *', "FETCH 1 FLAGS", "APPEND INBOX {1+}\r\nx"]) {
    const r = await c.command(cmd);
    assert.match(tagged(r), /^BAD .*log in first/, cmd);
  }
  c.close();
});

test("a wrong password gets NO [AUTHENTICATIONFAILED]; the right one OK with capabilities", async () => {
  const c = await connected(server());
  const wrong = await c.command(`LOGIN ${server().user} "not the password"`);
  assert.match(tagged(wrong), /^NO \[AUTHENTICATIONFAILED\]/);
  const right = await c.command(`LOGIN ${server().user} "${server().password}"`);
  // LITERAL- before login (small literals only), LITERAL+ after it (RFC 7888).
  assert.match(tagged(right), /^OK \[CAPABILITY IMAP4rev1 (?:IMAP4rev2 )?LITERAL\+ .*\] logged in$/);
  const again = await c.command(`LOGIN ${server().user} "${server().password}"`);
  assert.match(tagged(again), /^BAD .*already logged in/);
  c.close();
});

test("AUTHENTICATE PLAIN works with an initial response and with a continuation; * cancels", async () => {
  const plain = Buffer.from(`\0${server().user}\0${server().password}`).toString("base64");
  const a = await connected(server());
  assert.match(tagged(await a.command(`AUTHENTICATE PLAIN ${plain}`)), /^OK /);
  a.close();

  const b = await connected(server());
  b.write("T1 AUTHENTICATE PLAIN\r\n");
  assert.equal(await b.readLine(), "+ ");
  b.write("*\r\n");
  assert.match((await b.until("T1")).at(-1)!, /^T1 BAD /);
  b.write("T2 AUTHENTICATE PLAIN\r\n");
  assert.equal(await b.readLine(), "+ ");
  b.write(plain + "\r\n");
  assert.match((await b.until("T2")).at(-1)!, /^T2 OK /);
  b.close();

  const c = await connected(server());
  const bad = Buffer.from(`\0${server().user}\0nope`).toString("base64");
  assert.match(tagged(await c.command(`AUTHENTICATE PLAIN ${bad}`)), /^NO \[AUTHENTICATIONFAILED\]/);
  assert.match(tagged(await c.command("AUTHENTICATE CRAM-MD5")), /^NO /);
  c.close();
});

test("ID, NOOP, NAMESPACE and ENABLE answer as the RFCs say; LOGOUT says BYE then OK", async () => {
  const c = await loggedIn(server());
  const id = await c.command('ID ("name" "raw-test")');
  assert.equal(id[0], '* ID ("name" "aerogramme-local" "version" "0.1.0")');
  assert.equal(tagged(await c.command("NOOP")), "OK NOOP completed");
  assert.equal((await c.command("NAMESPACE"))[0], '* NAMESPACE (("" "/")) NIL NIL');
  const en = await c.command("ENABLE QRESYNC CONDSTORE X-UNKNOWN");
  assert.equal(en[0], "* ENABLED QRESYNC CONDSTORE");
  const bye = await c.command("LOGOUT");
  assert.match(bye[0]!, /^\* BYE /);
  assert.equal(tagged(bye), "OK LOGOUT completed");
});
