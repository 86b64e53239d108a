/**
 * Behaviours a compliance suite found missing (issue 14), each with the RFC section that sets it:
 * ESEARCH with MODSEQ, address searches, names that are not modified UTF-7, LIST-EXTENDED, LSUB.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { appendRaw, loggedIn, message, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Gaps");
  await appendRaw(c, "Gaps", message("one", "first"));
  await appendRaw(c, "Gaps", message("two", "second"), "\\Seen");
  await appendRaw(
    c,
    "Gaps",
    'From: "John Q. Doe" <jq@example.com>\r\nTo: "=?UTF-8?Q?J=C3=BCrgen?=" <j@example.de>,\r\n' +
      " =?UTF-8?B?SsO8cmdlbg==?= =?UTF-8?B?IE3DvGxsZXI=?= <m@example.de>\r\nSubject: three\r\n\r\nthird\r\n",
  );
  await c.command("SELECT Gaps");
});

test("RFC 4731 §3.2: ESEARCH with MODSEQ gives the highest MODSEQ of the messages it returns", async () => {
  await c.command("STORE 3 +FLAGS.SILENT (\\Flagged)");
  const modseqOf = async (seq: number) =>
    Number(/MODSEQ \((\d+)\)/.exec((await c.command(`FETCH ${seq} (MODSEQ)`))[0]!)![1]);
  const [m1, m2, m3] = [await modseqOf(1), await modseqOf(2), await modseqOf(3)];
  assert.ok(m3 > m2 && m2 > m1);
  assert.equal(await esearch("SEARCH RETURN (MIN) MODSEQ 1"), `* ESEARCH MIN 1 MODSEQ ${m1}`);
  assert.equal(await esearch("SEARCH RETURN (MIN MAX) MODSEQ 1"), `* ESEARCH MIN 1 MAX 3 MODSEQ ${m3}`);
  assert.equal(await esearch("UID SEARCH RETURN (COUNT) MODSEQ 1"), `* ESEARCH UID COUNT 3 MODSEQ ${m3}`);
  // RFC 7162 §3.1.5: MODSEQ with an entry name and type (per-flag MODSEQs; the message's is used).
  assert.equal(
    (await c.command(`SEARCH MODSEQ "/flags/\\\\seen" all ${m2}`))[0],
    `* SEARCH 2 3 (MODSEQ ${m3})`,
  );
  assert.equal(
    await esearch(`SEARCH RETURN (ALL) MODSEQ "/flags/\\\\flagged" priv ${m3}`),
    `* ESEARCH ALL 3 MODSEQ ${m3}`,
  );
});

test("RFC 3501 §6.4.4: FROM and TO match the address as clients show it, quoted or encoded names decoded", async () => {
  const search = async (criteria: string) => (await c.command(`SEARCH ${criteria}`))[0];
  assert.equal(await search('FROM "John Q. Doe <jq@example.com>"'), "* SEARCH 3");
  assert.equal(await search('FROM "doe <jq@"'), "* SEARCH 3");
  assert.equal(await search('TO "Jürgen <j@example.de>"'), "* SEARCH 3");
  assert.equal(await search('TO "Jürgen Müller <m@example.de>"'), "* SEARCH 3");
  assert.equal(await search('TO "Jürgen Müller <j@example.de>"'), "* SEARCH");
  assert.equal(await search('FROM "Alice Example <alice@example.org>"'), "* SEARCH 1 2");
});

test("RFC 3501 §5.1.3: a name that is not valid modified UTF-7 names no mailbox: NO, not BAD", async () => {
  const d = await loggedIn(await ready());
  for (const cmd of ['SELECT "&-&"', 'EXAMINE "a&b"', 'STATUS "&AGE" (MESSAGES)', 'SELECT "&Jjo"'])
    assert.match(tagged(await d.command(cmd)), /^NO \[NONEXISTENT\] /, cmd);
  // A syntax error is still BAD.
  assert.match(tagged(await d.command('STATUS "&-&" MESSAGES')), /^(BAD|NO) /);
  d.close();
});

test("RFC 5258 §3: unknown LIST selection or return options, and RECURSIVEMATCH alone, are BAD", async () => {
  assert.match(tagged(await c.command('LIST (FOO) "" "*"')), /^BAD /);
  assert.match(tagged(await c.command('LIST "" "*" RETURN (BAR)')), /^BAD /);
  assert.match(tagged(await c.command('LIST (RECURSIVEMATCH) "" "*"')), /^BAD /);
  assert.match(tagged(await c.command('LIST (REMOTE RECURSIVEMATCH) "" "*"')), /^BAD /);
  assert.match(tagged(await c.command('LIST (REMOTE SUBSCRIBED RECURSIVEMATCH) "" "*"')), /^OK /);
  assert.match(tagged(await c.command('LIST "" "*" RETURN (CHILDREN SUBSCRIBED SPECIAL-USE)')), /^OK /);
});

test("RFC 5258 §3, §5: (SUBSCRIBED) lists gone names \\NonExistent; RECURSIVEMATCH gives CHILDINFO; LSUB % gives \\Noselect parents", async () => {
  for (const name of ["Fruit", "Fruit/Apple", "Fruit/Banana", "Vegetable", "Vegetable/Broccoli", "Tofu"])
    await c.command(`CREATE ${name}`);
  await c.command("CREATE Fruit/Peach");
  for (const name of ["Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli"])
    await c.command(`SUBSCRIBE ${name}`);
  await c.command("DELETE Fruit/Peach");
  const sub = await c.command('LIST (SUBSCRIBED) "" ("Fruit*" "Vegetable*" "Tofu")');
  assert.deepEqual(sub.slice(0, -1), [
    '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
    '* LIST (\\NonExistent \\Subscribed) "/" "Fruit/Peach"',
    '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
    '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"',
  ]);
  const rec = await c.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Fruit" "Vegetable" "Tofu")');
  assert.deepEqual(rec.slice(0, -1), [
    '* LIST (\\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))',
    '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable" ("CHILDINFO" ("SUBSCRIBED"))',
  ]);
  // RFC 3501 §6.3.9: foo/bar subscribed, foo not: LSUB with % returns foo as \Noselect.
  const lsub = await c.command('LSUB "" "Fruit%"');
  assert.deepEqual(lsub.slice(0, -1), ['* LSUB (\\Noselect) "/" "Fruit"']);
  const all = await c.command('LSUB "" "Fruit*"');
  assert.deepEqual(all.slice(0, -1), ['* LSUB () "/" "Fruit/Banana"', '* LSUB () "/" "Fruit/Peach"']);
});

/** The ESEARCH line of a command, without its TAG correlator. */
async function esearch(command: string): Promise<string> {
  return (await c.command(command))[0]!.replace(/^\* ESEARCH \(TAG "[^"]+"\) /, "* ESEARCH ");
}
