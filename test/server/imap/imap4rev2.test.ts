/**
 * IMAP4rev2 (RFC 9051) beside IMAP4rev1: what changes for a client that sent ENABLE IMAP4rev2, with
 * the RFC's examples. IMAP4rev2 is announced only once every extension it folds in is (BINARY is
 * the last one): until then only the first test runs.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { imap4rev2Ready } from "../../../src/server/imap/protocol/capabilities.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
const skip = imap4rev2Ready() ? false : "IMAP4rev2 waits for BINARY (RFC 3516), which RFC 9051 folds in";
/** A client that enabled IMAP4rev2, and one that did not. */
let rev2: RawImap;
let rev1: RawImap;

/** Sends a command with a tag of the test's (the RFC's examples name theirs). */
async function tagged2(c: RawImap, tag: string, command: string): Promise<string[]> {
  c.write(`${tag} ${command}\r\n`);
  return c.until(tag);
}

before(async () => {
  const server = await ready();
  rev1 = await loggedIn(server);
  rev2 = await loggedIn(server);
  if (skip) return;
  assert.deepEqual(await rev2.command("ENABLE IMAP4rev2"), ["* ENABLED IMAP4rev2", "A2 OK ENABLE completed"]);
  await rev1.command("CREATE Rev2");
  // RFC 9051 §6.4.4's examples find messages 2, 10 and 11: flagged, since 1994, not from Smith.
  for (let i = 1; i <= 12; i++) {
    const from = i === 5 ? "From: John Smith <smith@example.org>\r\n" : "";
    const flags = [2, 5, 10, 11].includes(i) ? "\\Flagged" : "";
    await appendRaw(rev1, "Rev2", from + message(`message ${i}`, `body ${i}`), flags);
  }
});

test("IMAP4rev2 is announced beside IMAP4rev1 exactly when it can be enabled", async () => {
  const caps = (await rev1.command("CAPABILITY"))[0]!.split(" ");
  assert.ok(caps.includes("IMAP4rev1"));
  assert.equal(caps.includes("IMAP4rev2"), imap4rev2Ready());
  if (!imap4rev2Ready()) {
    // RFC 5161 §3.1: what the server does not support is left out of ENABLED.
    const c = await loggedIn(await ready());
    assert.equal((await c.command("ENABLE IMAP4rev2"))[0], "* ENABLED");
    c.close();
  }
});

test(
  "RFC 9051 §6.4.4: SEARCH answers in ESEARCH, RETURN () is ALL, no match is an empty ESEARCH",
  { skip },
  async () => {
    await rev2.command("SELECT Rev2");
    const criteria = 'FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"';
    assert.deepEqual(await tagged2(rev2, "A282", `SEARCH RETURN (MIN COUNT) ${criteria}`), [
      '* ESEARCH (TAG "A282") MIN 2 COUNT 3',
      "A282 OK SEARCH completed",
    ]);
    assert.deepEqual(await tagged2(rev2, "A283", `SEARCH RETURN () ${criteria}`), [
      '* ESEARCH (TAG "A283") ALL 2,10:11',
      "A283 OK SEARCH completed",
    ]);
    assert.deepEqual(await tagged2(rev2, "A284", 'SEARCH TEXT "string not in mailbox"'), [
      '* ESEARCH (TAG "A284")',
      "A284 OK SEARCH completed",
    ]);
    // Without RETURN: as RETURN (ALL), never the IMAP4rev1 SEARCH response.
    assert.deepEqual(await tagged2(rev2, "A285", `SEARCH ${criteria}`), [
      '* ESEARCH (TAG "A285") ALL 2,10:11',
      "A285 OK SEARCH completed",
    ]);
    assert.deepEqual(await tagged2(rev2, "A286", `UID SEARCH ${criteria}`), [
      '* ESEARCH (TAG "A286") UID ALL 2,10:11',
      "A286 OK UID SEARCH completed",
    ]);
    // The IMAP4rev1 client on the same mailbox still gets SEARCH.
    await rev1.command("EXAMINE Rev2");
    assert.equal((await rev1.command(`SEARCH ${criteria}`))[0], "* SEARCH 2 10 11");
  },
);

test(
  "RFC 9051 §6.3.2: SELECT sends LIST, neither RECENT nor UNSEEN, and [CLOSED] when one was selected",
  { skip },
  async () => {
    await rev2.command("SELECT INBOX");
    const lines = await rev2.command("SELECT Rev2");
    assert.equal(lines[0], "* OK [CLOSED] previous mailbox closed");
    assert.ok(lines.includes('* LIST (\\HasNoChildren) "/" "Rev2"'), lines.join("\n"));
    assert.ok(lines.includes("* 12 EXISTS"));
    assert.ok(!lines.some((l) => / RECENT$|\[UNSEEN /.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("* OK [UIDVALIDITY ")));
    assert.ok(lines.some((l) => l.startsWith("* OK [UIDNEXT 13]")));
    assert.ok(lines.some((l) => l.startsWith("* OK [PERMANENTFLAGS ")));
    assert.match(tagged(lines), /^OK \[READ-WRITE\]/);
    // An IMAP4rev1 client still gets RECENT (and UNSEEN).
    const old = await rev1.command("EXAMINE Rev2");
    assert.ok(
      old.some((l) => / RECENT$/.test(l)) && old.some((l) => l.includes("[UNSEEN 1]")),
      old.join("\n"),
    );
  },
);

test(
  "RFC 9051 §2.3.2: no \\Recent in FLAGS and no RECENT for new mail; it stays recent to IMAP4rev1 sessions",
  { skip },
  async () => {
    await rev2.command("SELECT Rev2");
    await appendRaw(rev1, "Rev2", message("arrives later", "new"));
    const noop = await rev2.command("NOOP");
    assert.ok(noop.includes("* 13 EXISTS"), noop.join("\n"));
    assert.ok(!noop.some((l) => / RECENT$/.test(l)), noop.join("\n"));
    assert.equal((await rev2.command("FETCH 13 FLAGS"))[0], "* 13 FETCH (FLAGS ())");
    assert.ok(!(await rev2.command("FETCH 1:* FLAGS")).some((l) => l.includes("\\Recent")));
    // The IMAP4rev2 session claimed nothing (and EXAMINE claims nothing): an IMAP4rev1 SELECT still
    // gets every message as \Recent.
    const c = await loggedIn(await ready());
    const lines = await c.command("SELECT Rev2");
    assert.ok(lines.includes("* 13 RECENT"), lines.join("\n"));
    assert.equal((await c.command("FETCH 13 FLAGS"))[0], "* 13 FETCH (FLAGS (\\Recent))");
    c.close();
  },
);

test(
  "RFC 9051 §6.3.11: STATUS DELETED counts \\Deleted messages, beside the other items",
  { skip },
  async () => {
    await rev2.command("SELECT Rev2");
    await rev2.command("STORE 3:4 +FLAGS.SILENT (\\Deleted)");
    assert.deepEqual(await tagged2(rev2, "A042", "STATUS Rev2 (UIDNEXT MESSAGES DELETED)"), [
      '* STATUS "Rev2" (UIDNEXT 14 MESSAGES 13 DELETED 2)',
      "A042 OK STATUS completed",
    ]);
    await rev2.command("STORE 3:4 -FLAGS.SILENT (\\Deleted)");
  },
);

test(
  "RFC 9051 §5.1: mailbox names are UTF-8 both ways; an IMAP4rev1 client sees modified UTF-7",
  { skip },
  async () => {
    assert.match(tagged(await rev2.command('CREATE "Entwürfe"')), /^OK/);
    assert.match(tagged(await rev2.command('CREATE "Tom & Jerry"')), /^OK/);
    const utf8 = await rev2.command('LIST "" "*"');
    assert.ok(utf8.includes('* LIST (\\HasNoChildren) "/" "Entwürfe"'), utf8.join("\n"));
    assert.ok(utf8.includes('* LIST (\\HasNoChildren) "/" "Tom & Jerry"'), utf8.join("\n"));
    assert.equal((await rev2.command('STATUS "Entwürfe" (MESSAGES)'))[0], '* STATUS "Entwürfe" (MESSAGES 0)');
    const mutf7 = await rev1.command('LIST "" "*"');
    assert.ok(mutf7.includes('* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"'), mutf7.join("\n"));
    assert.ok(mutf7.includes('* LIST (\\HasNoChildren) "/" "Tom &- Jerry"'), mutf7.join("\n"));
    // The same mailbox under its two spellings.
    assert.match(tagged(await rev1.command('SELECT "Entw&APw-rfe"')), /^OK/);
    assert.match(tagged(await rev2.command('SELECT "Entwürfe"')), /^OK/);
    // Decomposed input (u + combining diaeresis) names the same, normalised (NFC) mailbox.
    assert.match(tagged(await rev2.command('SELECT "Entwu\u0308rfe"')), /^OK/);
  },
);
