import { test } from "node:test";
import assert from "node:assert/strict";
import { command, failureOf, parseOne } from "./readerHarness.ts";

const all = { ranges: [{ from: 1, to: Infinity }] };

test("commands without arguments, in any case", async () => {
  for (const name of [
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "NAMESPACE",
    "CHECK",
    "CLOSE",
    "UNSELECT",
    "IDLE",
  ]) {
    assert.deepEqual(await command(`a1 ${name}`), { name });
    assert.deepEqual(await command(`a1 ${name.toLowerCase()}`), { name });
  }
  assert.deepEqual(await command("a1 EXPUNGE"), { name: "EXPUNGE", uid: false });
});

test("the tag is kept as written, and may hold ']' but not '+'", async () => {
  assert.deepEqual(await parseOne("A0001.x] NOOP"), { tag: "A0001.x]", command: { name: "NOOP" } });
  const f = await failureOf("a+1 NOOP");
  assert.equal(f.tag, undefined);
  assert.equal(f.status, "BAD");
});

test("an argument after an argument-less command is refused with the tag", async () => {
  const f = await failureOf("t1 NOOP now");
  assert.equal(f.tag, "t1");
  assert.match(f.text, /unexpected text/);
});

test("LOGIN takes atoms, quoted strings with escapes, and literals", async () => {
  assert.deepEqual(await command("a LOGIN bob secret"), { name: "LOGIN", user: "bob", password: "secret" });
  assert.deepEqual(await command('a LOGIN "bob smith" "p\\"w\\\\d"'), {
    name: "LOGIN",
    user: "bob smith",
    password: 'p"w\\d',
  });
  assert.deepEqual(await command("a LOGIN {3}\r\nbob {4}\r\np w!"), {
    name: "LOGIN",
    user: "bob",
    password: "p w!",
  });
  assert.deepEqual(await command('a LOGIN "jürgen" "pässword"'), {
    name: "LOGIN",
    user: "jürgen",
    password: "pässword",
  });
});

test("AUTHENTICATE with and without an initial response", async () => {
  assert.deepEqual(await command("a AUTHENTICATE plain"), { name: "AUTHENTICATE", mechanism: "PLAIN" });
  assert.deepEqual(await command("a AUTHENTICATE PLAIN AGJvYgBwdw=="), {
    name: "AUTHENTICATE",
    mechanism: "PLAIN",
    initial: "AGJvYgBwdw==",
  });
  assert.deepEqual(await command("a AUTHENTICATE PLAIN ="), {
    name: "AUTHENTICATE",
    mechanism: "PLAIN",
    initial: "=",
  });
});

test("ID with NIL or field/value pairs (NIL values kept as null)", async () => {
  assert.deepEqual(await command("a ID NIL"), { name: "ID", params: null });
  assert.deepEqual(await command("a ID ()"), { name: "ID", params: {} });
  assert.deepEqual(await command('a ID ("name" "Thunderbird" "version" "153.8.0" "os" NIL)'), {
    name: "ID",
    params: { name: "Thunderbird", version: "153.8.0", os: null },
  });
});

test("ENABLE takes one or more capability names", async () => {
  assert.deepEqual(await command("a ENABLE QRESYNC"), { name: "ENABLE", capabilities: ["QRESYNC"] });
  assert.deepEqual(await command("a ENABLE CONDSTORE UTF8=ACCEPT"), {
    name: "ENABLE",
    capabilities: ["CONDSTORE", "UTF8=ACCEPT"],
  });
});

test("SELECT and EXAMINE: INBOX in any case, mUTF-7 names, CONDSTORE and QRESYNC", async () => {
  assert.deepEqual(await command("a SELECT inbox"), { name: "SELECT", mailbox: "INBOX", params: {} });
  assert.deepEqual(await command('a EXAMINE "Entw&APw-rfe"'), {
    name: "EXAMINE",
    mailbox: "Entwürfe",
    params: {},
  });
  assert.deepEqual(await command("a SELECT Inbox/Child"), {
    name: "SELECT",
    mailbox: "INBOX/Child",
    params: {},
  });
  assert.deepEqual(await command("a SELECT INBOXES"), { name: "SELECT", mailbox: "INBOXES", params: {} });
  assert.deepEqual(await command("a SELECT INBOX (CONDSTORE)"), {
    name: "SELECT",
    mailbox: "INBOX",
    params: { condstore: true },
  });
  assert.deepEqual(await command("a SELECT INBOX (QRESYNC (67890007 2005071519404500))"), {
    name: "SELECT",
    mailbox: "INBOX",
    params: { qresync: { uidvalidity: 67890007, modseq: 2005071519404500 } },
  });
  assert.deepEqual(await command("a SELECT INBOX (QRESYNC (67890007 9006011519404500 41:211,214:541))"), {
    name: "SELECT",
    mailbox: "INBOX",
    params: {
      qresync: {
        uidvalidity: 67890007,
        modseq: 9006011519404500,
        knownUids: {
          ranges: [
            { from: 41, to: 211 },
            { from: 214, to: 541 },
          ],
        },
      },
    },
  });
  assert.deepEqual(
    await command(
      "a EXAMINE INBOX (QRESYNC (67890007 9006011519404500 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29979)))",
    ),
    {
      name: "EXAMINE",
      mailbox: "INBOX",
      params: {
        qresync: {
          uidvalidity: 67890007,
          modseq: 9006011519404500,
          knownUids: { ranges: [{ from: 1, to: 29997 }] },
          seqMatch: {
            seqs: {
              ranges: [
                { from: 5000, to: 5000 },
                { from: 7500, to: 7500 },
                { from: 9000, to: 9000 },
                { from: 9990, to: 9999 },
              ],
            },
            uids: {
              ranges: [
                { from: 15000, to: 15000 },
                { from: 22500, to: 22500 },
                { from: 27000, to: 27000 },
                { from: 29970, to: 29970 },
                { from: 29973, to: 29973 },
                { from: 29976, to: 29979 },
              ],
            },
          },
        },
      },
    },
  );
  assert.deepEqual(await command("a SELECT INBOX (CONDSTORE QRESYNC (1 2))"), {
    name: "SELECT",
    mailbox: "INBOX",
    params: { condstore: true, qresync: { uidvalidity: 1, modseq: 2 } },
  });
});

test("SELECT refuses unknown parameters, a zero UIDVALIDITY and a MODSEQ past 2^53", async () => {
  // Our MODSEQs are JS numbers; a client can only hold ones we gave out, which stay below 2^53.
  assert.match(
    (await failureOf("a SELECT INBOX (QRESYNC (1 20050715194045000))")).text,
    /MODSEQ is too large/,
  );
  assert.match((await failureOf("a SELECT INBOX (FOO)")).text, /unknown SELECT parameter FOO/);
  assert.equal((await failureOf("a SELECT INBOX (QRESYNC (0 1))")).status, "BAD");
  assert.equal((await failureOf("a SELECT INBOX (QRESYNC 1 2)")).status, "BAD");
  assert.equal((await failureOf("a SELECT")).status, "BAD");
});

test("CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE", async () => {
  assert.deepEqual(await command("a CREATE Archive/2024"), { name: "CREATE", mailbox: "Archive/2024" });
  assert.deepEqual(await command('a CREATE "My Drafts" (USE (\\Drafts))'), {
    name: "CREATE",
    mailbox: "My Drafts",
    specialUse: ["\\Drafts"],
  });
  assert.deepEqual(await command("a CREATE Bin (USE (\\Trash \\Junk))"), {
    name: "CREATE",
    mailbox: "Bin",
    specialUse: ["\\Trash", "\\Junk"],
  });
  assert.deepEqual(await command("a DELETE &ZeVnLIqe-"), { name: "DELETE", mailbox: "日本語" });
  assert.deepEqual(await command("a RENAME inbox Old"), { name: "RENAME", from: "INBOX", to: "Old" });
  assert.deepEqual(await command('a SUBSCRIBE "a b"'), { name: "SUBSCRIBE", mailbox: "a b" });
  assert.deepEqual(await command("a UNSUBSCRIBE {4}\r\nx yz"), { name: "UNSUBSCRIBE", mailbox: "x yz" });
  assert.equal((await failureOf("a CREATE X (USE (Drafts))")).status, "BAD");
  assert.equal((await failureOf("a RENAME onlyone")).status, "BAD");
});

test("LIST: plain, with selection and return options, several patterns and RETURN STATUS", async () => {
  assert.deepEqual(await command('a LIST "" *'), {
    name: "LIST",
    selection: [],
    reference: "",
    patterns: ["*"],
    returnOptions: [],
  });
  assert.deepEqual(await command('a list "" %/Entw&APw-rfe'), {
    name: "LIST",
    selection: [],
    reference: "",
    patterns: ["%/Entwürfe"],
    returnOptions: [],
  });
  assert.deepEqual(await command('a LIST (SUBSCRIBED) "" "*"'), {
    name: "LIST",
    selection: ["SUBSCRIBED"],
    reference: "",
    patterns: ["*"],
    returnOptions: [],
  });
  assert.deepEqual(
    await command(
      'a LIST (subscribed recursivematch) "" ("INBOX" "Sent*") RETURN (CHILDREN special-use STATUS (MESSAGES UNSEEN))',
    ),
    {
      name: "LIST",
      selection: ["SUBSCRIBED", "RECURSIVEMATCH"],
      reference: "",
      patterns: ["INBOX", "Sent*"],
      returnOptions: ["CHILDREN", "SPECIAL-USE"],
      returnStatus: ["MESSAGES", "UNSEEN"],
    },
  );
  assert.deepEqual(await command('a LIST "" "" RETURN ()'), {
    name: "LIST",
    selection: [],
    reference: "",
    patterns: [""],
    returnOptions: [],
  });
  assert.deepEqual(await command("a LSUB Lists %"), { name: "LSUB", reference: "Lists", pattern: "%" });
  assert.equal((await failureOf('a LIST "" * RETURN (STATUS (BOGUS))')).status, "BAD");
  assert.equal((await failureOf('a LIST ""')).status, "BAD");
  assert.equal((await failureOf('a LIST "" * RETURNS (CHILDREN)')).status, "BAD");
});

test("STATUS with every item", async () => {
  assert.deepEqual(
    await command("a STATUS inbox (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)"),
    {
      name: "STATUS",
      mailbox: "INBOX",
      items: ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"],
    },
  );
  assert.match((await failureOf("a STATUS INBOX (MESSAGES FOO)")).text, /unknown STATUS item FOO/);
  assert.equal((await failureOf("a STATUS INBOX ()")).status, "BAD");
});

test("APPEND with and without flags and date-time; the message is the literal's bytes", async () => {
  const msg = "Subject: hi\r\n\r\nbody\r\n";
  const plain = await command(`a APPEND Drafts {${msg.length}}\r\n${msg}`);
  assert.equal(plain.name, "APPEND");
  if (plain.name !== "APPEND") return;
  assert.equal(plain.mailbox, "Drafts");
  assert.deepEqual(plain.messages[0]!.flags, []);
  assert.equal(plain.messages[0]!.date, undefined);
  assert.equal(Buffer.from(plain.messages[0]!.message).toString("latin1"), msg);

  const full = await command(
    `a APPEND inbox (\\seen $Forwarded) "05-Mar-2024 10:00:00 +0100" {${msg.length}+}\r\n${msg}`,
  );
  if (full.name !== "APPEND") return assert.fail("not APPEND");
  assert.equal(full.mailbox, "INBOX");
  assert.deepEqual(full.messages[0]!.flags, ["\\Seen", "$Forwarded"]);
  assert.equal(full.messages[0]!.date, Date.UTC(2024, 2, 5, 9, 0, 0));

  const dated = await command(`a APPEND X "5-Mar-2024 10:00:00 +0000" {1}\r\nx`);
  if (dated.name !== "APPEND") return assert.fail("not APPEND");
  assert.equal(dated.messages[0]!.date, Date.UTC(2024, 2, 5, 10, 0, 0), "a one-digit day is accepted");

  const empty = await command("a APPEND X () {0}\r\n");
  if (empty.name !== "APPEND") return assert.fail("not APPEND");
  assert.equal(empty.messages[0]!.message.length, 0);
});

test("MULTIAPPEND (RFC 3502 §6.3.11): several messages, each with its own flags and date-time", async () => {
  const one = "Subject: 1\r\n\r\n1\r\n";
  const two = "Subject: 2\r\n\r\n2\r\n";
  const cmd = await command(
    `a APPEND saved (\\Seen) {${one.length}}\r\n${one} (\\Seen) " 7-Feb-1994 22:43:04 -0800" {${two.length}+}\r\n${two} {1}\r\nx`,
  );
  if (cmd.name !== "APPEND") return assert.fail("not APPEND");
  assert.deepEqual(
    cmd.messages.map((m) => [m.flags, m.date, Buffer.from(m.message).toString("latin1")]),
    [
      [["\\Seen"], undefined, one],
      [["\\Seen"], Date.UTC(1994, 1, 8, 6, 43, 4), two],
      [[], undefined, "x"],
    ],
  );
  assert.match((await failureOf(`a APPEND X {1}\r\nx (\\Seen)`)).text, /space|literal/);
  assert.match((await failureOf(`a APPEND X {1}\r\nx "junk" {1}\r\ny`)).text, /date-time/);
});

test("APPEND refuses a quoted message, a bad date and an unknown system flag", async () => {
  assert.match((await failureOf('a APPEND X "hello"')).text, /invalid date-time|literal/);
  assert.match((await failureOf('a APPEND X "32-Jan-2024 10:00:00 +0000" {1}\r\nx')).text, /date-time/);
  assert.match((await failureOf("a APPEND X (\\Bogus) {1}\r\nx")).text, /unknown system flag/);
  assert.match((await failureOf("a APPEND X")).text, /space/);
});

test("FETCH: macros, a single attribute, a list, and CHANGEDSINCE/VANISHED modifiers", async () => {
  for (const macro of ["ALL", "FAST", "FULL"] as const) {
    assert.deepEqual(await command(`a FETCH 1:* ${macro.toLowerCase()}`), {
      name: "FETCH",
      uid: false,
      set: all,
      attributes: [],
      macro,
      modifiers: {},
    });
  }
  assert.deepEqual(await command("a FETCH 2 FLAGS"), {
    name: "FETCH",
    uid: false,
    set: { ranges: [{ from: 2, to: 2 }] },
    attributes: [{ kind: "FLAGS" }],
    modifiers: {},
  });
  assert.deepEqual(await command("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)"), {
    name: "FETCH",
    uid: true,
    set: all,
    attributes: [{ kind: "FLAGS" }],
    modifiers: { changedSince: 12345, vanished: true },
  });
  assert.deepEqual(await command("a FETCH $ (UID MODSEQ) (CHANGEDSINCE 7)"), {
    name: "FETCH",
    uid: false,
    set: { saved: true },
    attributes: [{ kind: "UID" }, { kind: "MODSEQ" }],
    modifiers: { changedSince: 7 },
  });
  assert.deepEqual(await command("a FETCH 1 FAST (CHANGEDSINCE 1)"), {
    name: "FETCH",
    uid: false,
    set: { ranges: [{ from: 1, to: 1 }] },
    attributes: [],
    macro: "FAST",
    modifiers: { changedSince: 1 },
  });
});

test("FETCH refuses VANISHED without UID or CHANGEDSINCE, empty lists and unknown modifiers", async () => {
  assert.match((await failureOf("a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")).text, /UID FETCH/);
  assert.match((await failureOf("a UID FETCH 1:* (FLAGS) (VANISHED)")).text, /CHANGEDSINCE/);
  assert.equal((await failureOf("a FETCH 1 ()")).status, "BAD");
  assert.match((await failureOf("a FETCH 1 FLAGS (FOO 1)")).text, /unknown FETCH modifier FOO/);
  assert.match((await failureOf("a FETCH 1 FASTER")).text, /unknown fetch attribute FASTER/);
  assert.equal((await failureOf("a FETCH 0 FLAGS")).status, "BAD");
  assert.equal((await failureOf("a FETCH 1:* (FLAGS")).status, "BAD");
});

test("STORE: FLAGS, +FLAGS, -FLAGS, .SILENT, a bare flag list and UNCHANGEDSINCE", async () => {
  assert.deepEqual(await command("a STORE 1:3 +FLAGS (\\Deleted)"), {
    name: "STORE",
    uid: false,
    set: { ranges: [{ from: 1, to: 3 }] },
    mode: "add",
    silent: false,
    flags: ["\\Deleted"],
  });
  assert.deepEqual(await command("a UID STORE 5 -flags.silent \\seen $Junk"), {
    name: "STORE",
    uid: true,
    set: { ranges: [{ from: 5, to: 5 }] },
    mode: "remove",
    silent: true,
    flags: ["\\Seen", "$Junk"],
  });
  assert.deepEqual(await command("a STORE 1 FLAGS ()"), {
    name: "STORE",
    uid: false,
    set: { ranges: [{ from: 1, to: 1 }] },
    mode: "set",
    silent: false,
    flags: [],
  });
  assert.deepEqual(await command("a UID STORE 1:* (UNCHANGEDSINCE 320162338) FLAGS.SILENT (\\Flagged)"), {
    name: "STORE",
    uid: true,
    set: all,
    mode: "set",
    silent: true,
    flags: ["\\Flagged"],
    unchangedSince: 320162338,
  });
  assert.match((await failureOf("a STORE 1 FLAG (\\Seen)")).text, /invalid STORE item/);
  assert.match((await failureOf("a STORE 1 +FLAGS")).text, /space/);
  assert.equal((await failureOf("a STORE 1 (UNCHANGEDSINCE x) FLAGS ()")).status, "BAD");
});

test("COPY, MOVE and their UID forms, UID EXPUNGE", async () => {
  assert.deepEqual(await command("a COPY 2:4 Archive"), {
    name: "COPY",
    uid: false,
    set: { ranges: [{ from: 2, to: 4 }] },
    mailbox: "Archive",
  });
  assert.deepEqual(await command("a uid move 10,12 inbox"), {
    name: "MOVE",
    uid: true,
    set: {
      ranges: [
        { from: 10, to: 10 },
        { from: 12, to: 12 },
      ],
    },
    mailbox: "INBOX",
  });
  assert.deepEqual(await command('a UID COPY * "Entw&APw-rfe"'), {
    name: "COPY",
    uid: true,
    set: { ranges: [{ from: Infinity, to: Infinity }] },
    mailbox: "Entwürfe",
  });
  assert.deepEqual(await command("a UID EXPUNGE 3000:3002"), {
    name: "EXPUNGE",
    uid: true,
    uids: { ranges: [{ from: 3000, to: 3002 }] },
  });
  assert.match((await failureOf("a UID EXPUNGE")).text, /space/);
  assert.match((await failureOf("a UID NOOP")).text, /UID NOOP is not a command/);
  assert.equal((await failureOf("a COPY 1")).status, "BAD");
});

test("SEARCH: CHARSET UTF-8 and US-ASCII only; others are NO [BADCHARSET]", async () => {
  assert.deepEqual(await command("a SEARCH CHARSET utf-8 SUBJECT {6}\r\nnaïve"), {
    name: "SEARCH",
    uid: false,
    charset: "UTF-8",
    key: { kind: "SUBJECT", value: "naïve" },
  });
  assert.deepEqual(await command("a UID SEARCH CHARSET US-ASCII ALL"), {
    name: "SEARCH",
    uid: true,
    charset: "US-ASCII",
    key: { kind: "ALL" },
  });
  const f = await failureOf("a SEARCH CHARSET ISO-8859-1 FROM x");
  assert.equal(f.tag, "a");
  assert.equal(f.status, "NO");
  assert.equal(f.code, "BADCHARSET (UTF-8 US-ASCII)");
});

test("SEARCH and UID SEARCH take ESEARCH RETURN options", async () => {
  assert.deepEqual(await command("a SEARCH RETURN (MIN MAX ALL COUNT SAVE) UNSEEN"), {
    name: "SEARCH",
    uid: false,
    returns: ["MIN", "MAX", "ALL", "COUNT", "SAVE"],
    key: { kind: "UNSEEN" },
  });
  assert.deepEqual(await command("a UID SEARCH RETURN () CHARSET UTF-8 ALL"), {
    name: "SEARCH",
    uid: true,
    charset: "UTF-8",
    returns: [],
    key: { kind: "ALL" },
  });
  assert.match(
    (await failureOf("a SEARCH RETURN (PARTIAL) ALL")).text,
    /unknown SEARCH RETURN option PARTIAL/,
  );
  assert.equal((await failureOf("a SEARCH")).status, "BAD");
});

test("an unknown command is BAD with its tag and says which", async () => {
  const f = await failureOf("x9 FROBNICATE 1 2");
  assert.deepEqual(f, { tag: "x9", status: "BAD", text: "unknown command FROBNICATE" });
});

test("SORT with RETURN (RFC 5267 ESORT) before its criteria; without it, no returns", async () => {
  const esort = await command("a UID SORT RETURN (MIN ALL SAVE) (REVERSE DATE) UTF-8 SEEN");
  if (esort.name !== "SORT") return assert.fail("not SORT");
  assert.deepEqual(esort.returns, ["MIN", "ALL", "SAVE"]);
  assert.deepEqual(esort.criteria, [{ key: "DATE", reverse: true }]);
  assert.equal(esort.uid, true);
  const empty = await command("a SORT RETURN () (SUBJECT) UTF-8 ALL");
  if (empty.name !== "SORT") return assert.fail("not SORT");
  assert.deepEqual(empty.returns, []);
  const plain = await command("a SORT (SUBJECT) UTF-8 ALL");
  if (plain.name !== "SORT") return assert.fail("not SORT");
  assert.equal(plain.returns, undefined);
  assert.match((await failureOf("a SORT RETURN (CONTEXT) (DATE) UTF-8 ALL")).text, /SORT RETURN option/);
});

test("a SEARCH or SORT refused by the parser says whether it asked to SAVE (RFC 5182 §2.1)", async () => {
  assert.equal((await failureOf("a SEARCH RETURN (SAVE) BOGUS")).emptiesSavedSearch, true);
  assert.equal((await failureOf("a UID SORT RETURN (MIN SAVE) (DATE) KOI8-R ALL")).emptiesSavedSearch, true);
  assert.equal((await failureOf("a SEARCH BOGUS")).emptiesSavedSearch, undefined);
});
