import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, type Account } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { exportMail, importMail } from "../../src/mail/importExport/index.ts";
import { AlreadyExists, Invalid, NotFound } from "../../src/errors.ts";

function mbox(count: number): string {
  let out = "";
  for (let i = 0; i < count; i++)
    out += `From sender@example.org Mon Jan  1 00:00:${String(i % 60).padStart(2, "0")} 2024\nSubject: message ${i}\nMessage-ID: <${i}@example.org>\n\n>From line ${i}\nbody ${i}\n\n`;
  return out;
}

describe("import and export through the mail layer", () => {
  let dir: string;
  let store: Store;
  let account: Account;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "agl-impexp-"));
    store = memoryStore();
    account = await createAccount(store, { user: "a", password: "pw", kdf: TEST_KDF });
  });
  after(async () => {
    await account.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("250 mbox messages go in with 3 UidIndex op rows (batches of 100) and come back byte for byte", async () => {
    const source = join(dir, "in.mbox");
    await writeFile(source, mbox(250));
    const progress: number[] = [];
    const summary = await importMail(account, { path: source, mailbox: "Imported" }, (p) =>
      progress.push(p.messages),
    );
    assert.deepEqual(
      [summary.format, summary.mailbox, summary.createdMailbox, summary.messages],
      ["mbox", "Imported", true, 250],
    );
    assert.ok(progress.includes(100) && progress.at(-1) === 250);
    const { mailboxes } = await account.listMailboxes();
    const id = mailboxes.find((m) => m.name === "Imported")!.id;
    const opRows = (await store.rows.readRange(`index/${id}`)).items.filter((r) => r.sk !== "watch");
    assert.equal(opRows.length, 3);

    const mbx = await account.mailbox("Imported");
    const first = await account.messages.meta(mbx.index.byUid.get(mbx.index.uids[0]!)!.id);
    assert.equal(first.internalDate, Date.UTC(2024, 0, 1));
    assert.equal(
      new TextDecoder().decode(await account.messages.body(first)),
      "Subject: message 0\r\nMessage-ID: <0@example.org>\r\n\r\nFrom line 0\r\nbody 0\r\n",
    );

    const out = join(dir, "out.mbox");
    const exported = await exportMail(account, { path: out, mailbox: "Imported" });
    assert.deepEqual([exported.format, exported.messages], ["mbox", 250]);
    const expected = mbox(250).replace(/^From sender@example.org /gm, "From MAILER-DAEMON ");
    assert.equal(await readFile(out, "utf8"), expected);
  });

  test("a Maildir with flags goes in (cur/ flags, new/ none, mtime as date) and comes back with the same flags", async () => {
    const md = join(dir, "Maildir");
    for (const sub of ["cur", "new", "tmp"]) await mkdir(join(md, sub), { recursive: true });
    const files: [string, string, number][] = [
      ["cur/1700000001.a.host:2,FS", "Subject: flagged and seen\n\nA\n", 1700000001],
      ["cur/1700000002.b.host:2,RT", "Subject: answered, deleted\n\nB\n", 1700000002],
      ["cur/1700000003.c.host:2,", "Subject: no flags\n\nC\n", 1700000003],
      ["new/1700000004.d.host", "Subject: new\n\nD\n", 1700000004],
    ];
    for (const [name, text, t] of files) {
      await writeFile(join(md, name), text);
      await utimes(join(md, name), t, t);
    }
    const summary = await importMail(account, { path: md, mailbox: "FromMaildir" });
    assert.deepEqual([summary.format, summary.messages], ["maildir", 4]);
    const mbx = await account.mailbox("FromMaildir");
    const flags = mbx.index.uids.map((u) => mbx.index.byUid.get(u)!.flags.slice().sort());
    assert.deepEqual(flags, [["\\Flagged", "\\Seen"], ["\\Answered", "\\Deleted"], [], []]);

    const out = join(dir, "export-all");
    const exported = await exportMail(account, { path: out, format: "maildir" });
    assert.deepEqual(
      exported.mailboxes.map((m) => m.name).sort(),
      (await account.listMailboxes()).mailboxes.map((m) => m.name).sort(),
    );
    const cur = (await readdir(join(out, "FromMaildir", "cur"))).sort();
    assert.deepEqual(
      cur.map((n) => n.replace(/^.*:2,/, "")),
      ["FS", "RT", "", ""],
    );
    for (let i = 0; i < 4; i++) {
      const file = join(out, "FromMaildir", "cur", cur[i]!);
      assert.equal(await readFile(file, "utf8"), files[i]![1]);
      assert.equal(Math.round((await stat(file)).mtimeMs / 1000), files[i]![2]);
    }
  });

  test("bad paths are clear errors: missing, a folder that is no Maildir, an export over an existing path, an unknown mailbox", async () => {
    await assert.rejects(importMail(account, { path: join(dir, "missing") }), NotFound);
    await mkdir(join(dir, "plain"));
    await assert.rejects(importMail(account, { path: join(dir, "plain") }), Invalid);
    await assert.rejects(importMail(account, { path: join(dir, "in.mbox"), format: "maildir" }), Invalid);
    await assert.rejects(
      exportMail(account, { path: join(dir, "in.mbox"), mailbox: "Imported" }),
      AlreadyExists,
    );
    await assert.rejects(exportMail(account, { path: join(dir, "x.mbox"), mailbox: "Nope" }), NotFound);
  });
});
