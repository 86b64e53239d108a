import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { asctime, mboxEntry, separatorDate, splitMbox } from "../../src/mail/importExport/mboxFormat.ts";
import { maildirInfo, parseMaildirName } from "../../src/mail/importExport/maildirFlags.ts";
import { mailboxFileName } from "../../src/mail/importExport/exportMail.ts";
import { Invalid } from "../../src/errors.ts";

/** Feeds `text` to the splitter in chunks of `size` bytes. */
async function split(text: string, size = 1 << 20) {
  const bytes = Buffer.from(text, "latin1");
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const out: { raw: string; date?: number }[] = [];
  for await (const m of splitMbox(chunks()))
    out.push({ raw: m.raw.toString("latin1"), ...(m.date !== undefined ? { date: m.date } : {}) });
  return out;
}

const MBOX = [
  "From alice@example.org Mon Jan  1 10:20:30 2024",
  "Subject: one",
  "",
  ">From the start of a line, quoted",
  ">>From there",
  "> From is not quoted (space after >)",
  "",
  "From bob@example.org Tue Feb 13 08:00:00 2024",
  "Subject: two",
  "",
  "last",
  "",
].join("\n");

describe("mbox splitter", () => {
  test("splits at separator lines, unquotes >From lines one level (mboxrd), and reads the dates", async () => {
    const msgs = await split(MBOX);
    assert.equal(msgs.length, 2);
    assert.equal(
      msgs[0]!.raw,
      "Subject: one\n\nFrom the start of a line, quoted\n>From there\n> From is not quoted (space after >)\n",
    );
    assert.equal(msgs[1]!.raw, "Subject: two\n\nlast\n");
    assert.equal(msgs[0]!.date, Date.UTC(2024, 0, 1, 10, 20, 30));
    assert.equal(msgs[1]!.date, Date.UTC(2024, 1, 13, 8, 0, 0));
  });

  test("gives the same messages whatever the chunking (a line or a CRLF split across chunks)", async () => {
    const whole = await split(MBOX.replace(/\n/g, "\r\n"));
    for (const size of [1, 2, 3, 7, 64])
      assert.deepEqual(await split(MBOX.replace(/\n/g, "\r\n"), size), whole);
  });

  test("CRLF files: line ends kept, the empty line before a separator dropped", async () => {
    const msgs = await split(
      "From a Mon Jan  1 00:00:00 2024\r\nA: 1\r\n\r\nx\r\n\r\nFrom b Mon Jan  1 00:00:00 2024\r\nB: 2\r\n",
    );
    assert.deepEqual(
      msgs.map((m) => m.raw),
      ["A: 1\r\n\r\nx\r\n", "B: 2\r\n"],
    );
  });

  test("a final message without a trailing newline keeps its last line", async () => {
    const msgs = await split("From a Mon Jan  1 00:00:00 2024\nA: 1\n\nno newline at the end");
    assert.deepEqual(
      msgs.map((m) => m.raw),
      ["A: 1\n\nno newline at the end"],
    );
  });

  test("an empty file has no messages; text before the first separator is not an mbox", async () => {
    assert.deepEqual(await split(""), []);
    assert.deepEqual(await split("\n\n"), []);
    await assert.rejects(split("Subject: hi\n\nbody\n"), Invalid);
  });

  test("a separator without a readable date gives no date", async () => {
    const msgs = await split("From -\nA: 1\n");
    assert.equal(msgs[0]!.date, undefined);
    assert.equal(
      separatorDate("From MAILER-DAEMON Fri Mar 15 14:03:09 +0100 2019"),
      Date.UTC(2019, 2, 15, 14, 3, 9),
    );
  });

  test("mboxEntry writes LF, quotes From lines, and splits back to the same message", async () => {
    const raw = "Subject: x\r\n\r\nFrom me\r\n>From you\r\nend\r\n";
    const date = Date.UTC(2023, 11, 24, 23, 59, 1);
    const entry = mboxEntry(Buffer.from(raw), date).toString("latin1");
    assert.equal(
      entry,
      `From MAILER-DAEMON Sun Dec 24 23:59:01 2023\nSubject: x\n\n>From me\n>>From you\nend\n\n`,
    );
    assert.equal(asctime(Date.UTC(2024, 0, 5, 1, 2, 3)), "Fri Jan  5 01:02:03 2024");
    const back = await split(entry + mboxEntry(Buffer.from("A: b\n"), date).toString("latin1"));
    assert.deepEqual(
      back.map((m) => [m.raw, m.date]),
      [
        [raw.replace(/\r\n/g, "\n"), date],
        ["A: b\n", date],
      ],
    );
  });
});

describe("Maildir flags", () => {
  test("the info after :2, gives IMAP flags (F R S T D, P as $Forwarded); other names have none", () => {
    assert.deepEqual(parseMaildirName("1700000000.M1P2.host:2,FRS"), {
      unique: "1700000000.M1P2.host",
      flags: ["\\Flagged", "\\Answered", "\\Seen"],
    });
    assert.deepEqual(parseMaildirName("1.host:2,DPT").flags, ["\\Draft", "$Forwarded", "\\Deleted"]);
    assert.deepEqual(parseMaildirName("1.host!2,S").flags, ["\\Seen"]);
    assert.deepEqual(parseMaildirName("1.host:2,").flags, []);
    assert.deepEqual(parseMaildirName("1.host:2,Sab").flags, ["\\Seen"]);
    assert.deepEqual(parseMaildirName("1.host").flags, []);
  });

  test("flags are written as letters in ASCII order; keywords are reported as dropped", () => {
    assert.deepEqual(maildirInfo(["\\Seen", "\\Flagged", "\\Answered"]), { info: ":2,FRS", dropped: [] });
    assert.deepEqual(maildirInfo(["\\seen", "$Label1", "\\Recent"]), { info: ":2,S", dropped: ["$Label1"] });
    assert.deepEqual(maildirInfo([]), { info: ":2,", dropped: [] });
  });

  test("mailbox names become safe file names", () => {
    assert.equal(mailboxFileName("INBOX"), "INBOX");
    assert.equal(mailboxFileName("Lists/rust"), "Lists%2Frust");
    assert.equal(mailboxFileName(".hidden"), "%2Ehidden");
    assert.equal(mailboxFileName("Été"), "%C3%89t%C3%A9");
  });
});
