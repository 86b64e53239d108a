/** mbox flags as mutt and Thunderbird write them in each message's header come back as flags. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, type Account } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { importMail } from "../../src/mail/importExport/index.ts";
import { mboxFlags } from "../../src/mail/importExport/mboxFlags.ts";

const flagsOf = (header: string) => mboxFlags(Buffer.from(`${header}\nSubject: x\n\nStatus: RO\n`)).sort();

describe("mbox flags", () => {
  test("Status, X-Status, X-Mozilla-Status and X-Mozilla-Keys; the body is not read", () => {
    assert.deepEqual(flagsOf("From: a@x"), []);
    assert.deepEqual(flagsOf("Status: O"), []);
    assert.deepEqual(flagsOf("Status: RO"), ["\\Seen"]);
    assert.deepEqual(flagsOf("Status: RO\nX-Status: AF"), ["\\Answered", "\\Flagged", "\\Seen"]);
    assert.deepEqual(flagsOf("X-Status: DT"), ["\\Deleted", "\\Draft"]);
    assert.deepEqual(flagsOf("X-Mozilla-Status: 0005"), ["\\Flagged", "\\Seen"]);
    assert.deepEqual(flagsOf("X-Mozilla-Status: 000a"), ["\\Answered", "\\Deleted"]);
    assert.deepEqual(flagsOf("X-Mozilla-Keys: $label1 work  \\Seen (x)"), ["$label1", "work"]);
    assert.deepEqual(flagsOf("X-Mozilla-Keys:\n  todo"), ["todo"]);
    assert.deepEqual(flagsOf("status: r"), [], "letters are upper case");
  });

  describe("through import", () => {
    let dir: string;
    let account: Account;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "agl-mboxflags-"));
      account = await createAccount(memoryStore(), { user: "a", password: "pw", kdf: TEST_KDF });
    });
    after(async () => {
      await account.close();
      await rm(dir, { recursive: true, force: true });
    });

    test("each message comes back with the flags its header names", async () => {
      const entries: [string, string[]][] = [
        ["Status: RO\nX-Status: F", ["\\Flagged", "\\Seen"]],
        ["Status: O", []],
        ["Status: RO\nX-Status: A", ["\\Answered", "\\Seen"]],
        ["X-Mozilla-Status: 0001\nX-Mozilla-Keys: $label1 later", ["$label1", "\\Seen", "later"]],
        ["", []],
      ];
      const source = join(dir, "flags.mbox");
      await writeFile(
        source,
        entries
          .map(
            ([h], i) => `From a@x Mon Jan  1 00:00:00 2024\n${h ? `${h}\n` : ""}Subject: m${i}\n\nbody\n\n`,
          )
          .join(""),
      );
      const summary = await importMail(account, { path: source, mailbox: "Flags" });
      assert.equal(summary.messages, entries.length);
      const mbx = await account.mailbox("Flags");
      const got = mbx.index.uids.map((u) => mbx.index.byUid.get(u)!.flags.slice().sort());
      assert.deepEqual(
        got,
        entries.map(([, f]) => f.slice().sort()),
      );
    });
  });
});
