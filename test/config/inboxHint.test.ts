/**
 * The hint of INBOX's id kept in clear in the settings folder (config/inboxHint.ts): written 0600,
 * read back; a file that is missing, damaged or edited into something else reads as no hint.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inboxHintFile, readInboxHint, writeInboxHint } from "../../src/config/inboxHint.ts";

const ID = "0123456789abcdef0123456789abcdef";

test("written with mode 0600 and read back; missing or garbage reads as no hint", async () => {
  const configDir = await mkdtemp(join(tmpdir(), "inbox-hint-"));
  try {
    const paths = { configDir };
    assert.equal(await readInboxHint(paths), undefined, "missing");
    await writeInboxHint(paths, ID);
    assert.equal(await readInboxHint(paths), ID);
    assert.equal((await stat(inboxHintFile(paths))).mode & 0o777, 0o600);
    assert.equal(await readFile(inboxHintFile(paths), "utf8"), `${ID}\n`);
    for (const garbage of [
      "",
      "\0\0\0",
      `${ID}${ID}\n`,
      `${ID.toUpperCase()}\n`,
      "../keys/root\n",
      `${ID}\nmore\n`,
    ]) {
      await writeFile(inboxHintFile(paths), garbage);
      assert.equal(await readInboxHint(paths), undefined, JSON.stringify(garbage));
    }
    await assert.rejects(writeInboxHint(paths, "../keys/root"), /not a mailbox id/);
  } finally {
    await rm(configDir, { recursive: true, force: true });
  }
});
