/** SELECT and FETCH as raw lines: every item, sections, partials, \Seen, UID first, and no body read for headers. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Store } from "../../../src/storage/types.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

/** A memory store that counts blob reads, to prove header fetches never touch a body. */
let blobGets = 0;
function countingStore(inner: Store): Store {
  return {
    rows: inner.rows,
    close: () => inner.close(),
    blobs: {
      ...inner.blobs,
      put: (k, b) => inner.blobs.put(k, b),
      head: (k) => inner.blobs.head(k),
      delete: (k) => inner.blobs.delete(k),
      list: (p, s, l) => inner.blobs.list(p, s, l),
      copy: (f, t) => inner.blobs.copy(f, t),
      get: (k, r) => {
        if (k.startsWith("mail/")) blobGets++;
        return inner.blobs.get(k, r);
      },
    },
  };
}

const { server } = useServer({ wrap: countingStore });

const MULTIPART =
  "From: Carol <carol@example.org>\r\nTo: dave@example.net\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
  "Date: Tue, 3 Mar 2026 08:30:00 +0100\r\nMIME-Version: 1.0\r\n" +
  'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
  "preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Dave\r\n" +
  "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b1--\r\n";

test("SELECT answers with FLAGS, PERMANENTFLAGS, EXISTS, RECENT, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and READ-WRITE", async () => {
  const c = await loggedIn(server());
  await appendRaw(c, "INBOX", message("first", "Body one"), "\\Flagged $Work", "02-Mar-2026 10:00:00 +0000");
  await appendRaw(c, "INBOX", MULTIPART);
  const r = await c.command("SELECT INBOX");
  assert.equal(r[0], "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)");
  assert.equal(
    r[1],
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] flags permitted",
  );
  assert.equal(r[2], "* 2 EXISTS");
  // Appended before any session selected INBOX: recent to this first one (RFC 3501 §2.3.2).
  assert.equal(r[3], "* 2 RECENT");
  assert.equal(r[4], "* OK [UNSEEN 1] first unseen message");
  assert.match(r[5]!, /^\* OK \[UIDVALIDITY \d+\] /);
  assert.equal(r[6], "* OK [UIDNEXT 3] predicted next UID");
  assert.match(r[7]!, /^\* OK \[HIGHESTMODSEQ \d+\] /);
  assert.equal(tagged(r), "OK [READ-WRITE] SELECT completed");
  const ex = await c.command("EXAMINE INBOX");
  assert.equal(tagged(ex), "OK [READ-ONLY] EXAMINE completed");
  c.close();
});

test("FETCH puts UID first and serves FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODYSTRUCTURE and MODSEQ", async () => {
  const c = await loggedIn(server());
  await c.command("SELECT INBOX");
  const r = await c.command("UID FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)");
  const size = Buffer.byteLength(message("first", "Body one"));
  assert.equal(
    r[0],
    `* 1 FETCH (UID 1 FLAGS ($Work \\Flagged) INTERNALDATE " 2-Mar-2026 10:00:00 +0000" RFC822.SIZE ${size} ` +
      'ENVELOPE ("Mon, 2 Mar 2026 10:00:00 +0000" "first" (("Alice Example" NIL "alice" "example.org")) ' +
      '(("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) ' +
      '(("Bob" NIL "bob" "example.net")) NIL NIL NIL "<first@example.org>"))',
  );
  const bs = await c.command("FETCH 2 (BODYSTRUCTURE)");
  assert.equal(
    bs[0],
    '* 2 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)' +
      '("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL))',
  );
  const ms = await c.command("FETCH 1:* (MODSEQ)");
  assert.match(ms[0]!, /^\* 1 FETCH \(MODSEQ \(\d+\)\)$/);
  const fast = await c.command("FETCH 1 FAST");
  assert.match(fast[0]!, /^\* 1 FETCH \(FLAGS \(.*\) INTERNALDATE ".*" RFC822\.SIZE \d+\)$/);
  c.close();
});

const FIELDS = "From: Carol <carol@example.org>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\n";

test("BODY[section] serves parts, MIME headers, HEADER.FIELDS and partials; headers never read the body", async () => {
  const c = await loggedIn(server());
  await c.command("SELECT INBOX");
  blobGets = 0;
  const h = await c.command("UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject From)])");
  assert.equal(h[0], `* 2 FETCH (UID 2 BODY[HEADER.FIELDS (Subject From)] {${FIELDS.length}}\r\n${FIELDS})`);
  await c.command("UID FETCH 1:* (BODY.PEEK[HEADER] ENVELOPE BODYSTRUCTURE RFC822.SIZE)");
  assert.equal(blobGets, 0, "a header-only fetch read a body blob");
  const p1 = await c.command("FETCH 2 (BODY.PEEK[1])");
  assert.equal(p1[0], "* 2 FETCH (BODY[1] {10}\r\nHello Dave)");
  const mime = await c.command("FETCH 2 (BODY.PEEK[2.MIME])");
  assert.equal(
    mime[0],
    "* 2 FETCH (BODY[2.MIME] {77}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n)",
  );
  const part = await c.command("FETCH 2 (BODY.PEEK[1]<6.100>)");
  assert.equal(part[0], "* 2 FETCH (BODY[1]<6> {4}\r\nDave)");
  const none = await c.command("FETCH 2 (BODY.PEEK[7])");
  assert.equal(none[0], "* 2 FETCH (BODY[7] NIL)");
  assert.ok(blobGets > 0);
  c.close();
});

test("BODY[] sets \\Seen and says so; BODY.PEEK[] and EXAMINE do not", async () => {
  const c = await loggedIn(server());
  await c.command("EXAMINE INBOX");
  const ro = await c.command("FETCH 1 (BODY[TEXT])");
  assert.equal(ro[0], "* 1 FETCH (BODY[TEXT] {10}\r\nBody one\r\n)");
  await c.command("SELECT INBOX");
  const peek = await c.command("FETCH 1 (BODY.PEEK[TEXT] FLAGS)");
  assert.equal(peek[0], "* 1 FETCH (FLAGS ($Work \\Flagged) BODY[TEXT] {10}\r\nBody one\r\n)");
  const r = await c.command("FETCH 1 (BODY[TEXT])");
  assert.equal(r[0], "* 1 FETCH (FLAGS ($Work \\Flagged \\Seen) BODY[TEXT] {10}\r\nBody one\r\n)");
  assert.equal(r.length, 2, r.join("\n"));
  const whole = await c.command("UID FETCH 1 (RFC822)");
  assert.equal(
    whole[0],
    `* 1 FETCH (UID 1 RFC822 {${Buffer.byteLength(message("first", "Body one"))}}\r\n${message("first", "Body one")})`,
  );
  c.close();
});

test("a bad sequence number is BAD; a UID that does not exist is simply left out", async () => {
  const c = await loggedIn(server());
  await c.command("SELECT INBOX");
  assert.match(tagged(await c.command("FETCH 99 FLAGS")), /^BAD /);
  const r = await c.command("UID FETCH 99 FLAGS");
  assert.deepEqual(r.length, 1);
  assert.match(tagged(r), /^OK /);
  c.close();
});
