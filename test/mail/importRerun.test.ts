/**
 * `import` can be run again: a second run of the same source adds nothing, a run after one that
 * was stopped halfway adds the rest, and messages are told apart by their bytes, not Message-ID.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, type Account } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { importMail } from "../../src/mail/importExport/index.ts";

function mbox(count: number, tag: string): string {
  let out = "";
  for (let i = 0; i < count; i++)
    out += `From s@example.org Mon Jan  1 00:00:00 2024\nSubject: ${tag} ${i}\nMessage-ID: <${tag}${i}@example.org>\n\nbody ${i}\n${"x".repeat(i % 7)}\n\n`;
  return out;
}

async function subjects(account: Account, name: string): Promise<string[]> {
  const mbx = await account.mailbox(name);
  const ids = mbx.index.uids.map((uid) => mbx.index.byUid.get(uid)!.id);
  const metas = await account.messages.getMeta(ids);
  return ids.map((id) => /^Subject: (.*)$/m.exec(metas.get(id)!.header)![1]!.trim());
}

describe("import run again", () => {
  let dir: string;
  let account: Account;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "agl-rerun-"));
    account = await createAccount(memoryStore(), { user: "a", password: "pw", kdf: TEST_KDF });
  });
  after(async () => {
    await account.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the same mbox twice: each message once; the summary says how many were already there", async () => {
    const source = join(dir, "twice.mbox");
    await writeFile(source, mbox(300, "twice"));
    const first = await importMail(account, { path: source, mailbox: "Twice" });
    assert.deepEqual([first.messages, first.alreadyThere], [300, 0]);
    const second = await importMail(account, { path: source, mailbox: "Twice" });
    assert.deepEqual([second.messages, second.alreadyThere], [0, 300]);
    const got = await subjects(account, "Twice");
    assert.equal(got.length, 300);
    assert.equal(new Set(got).size, 300);
  });

  test("an import stopped halfway, run again, adds the rest and nothing twice", async () => {
    const source = join(dir, "stopped.mbox");
    await writeFile(source, mbox(250, "stopped"));
    const stop = new AbortController();
    await assert.rejects(
      importMail(account, { path: source, mailbox: "Stopped", batchSize: 40, signal: stop.signal }, (p) => {
        if (p.messages >= 120) stop.abort();
      }),
    );
    const partial = (await subjects(account, "Stopped")).length;
    assert.ok(partial >= 120 && partial < 250, `${partial} after the stop`);
    const rerun = await importMail(account, { path: source, mailbox: "Stopped" });
    assert.deepEqual([rerun.messages, rerun.alreadyThere], [250 - partial, partial]);
    const got = await subjects(account, "Stopped");
    assert.deepEqual(got.sort(), Array.from({ length: 250 }, (_, i) => `stopped ${i}`).sort());
  });

  test("a Message-ID shared by different messages does not make one of them a duplicate", async () => {
    const source = join(dir, "sameid.mbox");
    await writeFile(
      source,
      "From s@x Mon Jan  1 00:00:00 2024\nSubject: one\nMessage-ID: <same@x>\n\nfirst\n\n" +
        "From s@x Mon Jan  1 00:00:00 2024\nSubject: two\nMessage-ID: <same@x>\n\nsecond\n\n",
    );
    const summary = await importMail(account, { path: source, mailbox: "SameId" });
    assert.deepEqual([summary.messages, summary.alreadyThere], [2, 0]);
  });

  test("Maildir++ subfolders become mailboxes, and run again add nothing", async () => {
    const md = join(dir, "Maildir");
    const files: [string, string][] = [
      ["cur/1.a:2,S", "root one"],
      ["new/2.b", "root two"],
      [".Work/cur/3.c:2,F", "work"],
      [".Work.2024/cur/4.d:2,", "work 2024"],
      [".Lists.Debian/new/5.e", "debian"],
      [".NotAMaildir/file", "ignored"],
    ];
    for (const [name, subject] of files) {
      await mkdir(join(md, name, ".."), { recursive: true });
      await writeFile(join(md, name), `Subject: ${subject}\n\nbody\n`);
    }
    await mkdir(join(md, "tmp"), { recursive: true });
    const first = await importMail(account, { path: md, mailbox: "Old" });
    assert.deepEqual([first.messages, first.alreadyThere], [2, 0]);
    assert.deepEqual(
      first.folders.map((f) => [f.mailbox, f.messages, f.alreadyThere]),
      [
        ["Old/Lists/Debian", 1, 0],
        ["Old/Work", 1, 0],
        ["Old/Work/2024", 1, 0],
      ],
    );
    assert.deepEqual(await subjects(account, "Old/Work"), ["work"]);
    assert.deepEqual(await subjects(account, "Old/Work/2024"), ["work 2024"]);
    assert.deepEqual(await subjects(account, "Old/Lists/Debian"), ["debian"]);
    const mbx = await account.mailbox("Old/Work");
    assert.deepEqual(mbx.index.byUid.get(mbx.index.uids[0]!)!.flags, ["\\Flagged"]);
    const again = await importMail(account, { path: md, mailbox: "Old" });
    assert.deepEqual(
      [again.messages, again.alreadyThere, again.folders.map((f) => [f.messages, f.alreadyThere])],
      [
        0,
        2,
        [
          [0, 1],
          [0, 1],
          [0, 1],
        ],
      ],
    );
  });

  test("a malformed mbox: what is valid goes in, the rest is reported with its line number", async () => {
    const source = join(dir, "malformed.mbox");
    const junk = Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x89, 0x50, 0x4e, 0x47, 0x0a]);
    await writeFile(
      source,
      Buffer.concat([
        Buffer.from("From a@x Mon Jan  1 00:00:00 2024\nSubject: good 1\n\nbody\n\n"), // lines 1-5
        Buffer.from("From a@x Mon Jan  1 00:00:00 2024\n"), // line 6, then 2 lines of junk
        junk,
        Buffer.from("\nFrom garbled separator line\n\n"), // lines 9-11: an empty message
        Buffer.from("From a@x Mon Jan  1 00:00:00 2024\nSubject: good 2\n\nbody\n\n"), // line 12
        Buffer.from("From a@x Mon Jan  1 00:00:00 2024\nSubject: truncat"), // line 17, cut short
      ]),
    );
    const summary = await importMail(account, { path: source, mailbox: "Malformed" });
    assert.equal(summary.messages, 3);
    assert.deepEqual(summary.skipped, [
      { where: "line 6", reason: "not a message: it does not start with a header field (Name: value)" },
      { where: "line 10", reason: "empty: no message between two From lines" },
    ]);
    assert.deepEqual(await subjects(account, "Malformed"), ["good 1", "good 2", "truncat"]);
  });
});
