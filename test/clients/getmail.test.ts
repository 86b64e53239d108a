/**
 * getmail6 (an MDA_external destination) pulls the provider's 200 messages into our server through
 * `aerogramme-local deliver` (issue 13; fetcherProvider.ts has the provider and the checks).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DovecotServer } from "../../bench/dovecot.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { BIN, CLI_PASSWORD, withRunningServer } from "../cli/cliHarness.ts";
import { COUNT, RETURN_PATH, assertAllOnce, hasDovecot, inbox, provider, run } from "./fetcherProvider.ts";

const getmail = findExecutable("getmail");
describe("getmail6 into deliver", { concurrency: 1 }, () => {
  const skip =
    skipUnless(hasDovecot, "Dovecot", "apt-get install dovecot-imapd") ||
    skipUnless(getmail !== undefined, "getmail6", "apt-get install getmail6");
  const home = withRunningServer({ password: CLI_PASSWORD, start: skip ? "manual" : "before" });
  let dovecot: DovecotServer | undefined;
  let dir = "";
  before(async () => {
    if (skip) return;
    dovecot = await provider();
    dir = await mkdtemp(join(tmpdir(), "agl-getmail-"));
    // `read_all = false` and `delete = false`: getmail remembers what it took (its oldmail file) and
    // leaves the mail on the provider. `delivered_to`, `received` and `record_mailbox` off: no
    // header fields of its own but the Return-Path: it always writes.
    const rc = [
      "[retriever]",
      "type = SimpleIMAPRetriever",
      "server = 127.0.0.1",
      `port = ${dovecot.port}`,
      `username = ${dovecot.user}`,
      `password = ${dovecot.password}`,
      "mailboxes = ('INBOX',)",
      "record_mailbox = false",
      "",
      "[destination]",
      "type = MDA_external",
      `path = ${process.execPath}`,
      `arguments = ('${BIN}', 'deliver')`,
      // The tests run as root in CI; a user's getmail does not need this line.
      ...(process.getuid?.() === 0 ? ["allow_root_commands = true"] : []),
      "",
      "[options]",
      "read_all = false",
      "delete = false",
      "delivered_to = false",
      "received = false",
      "verbose = 1",
      "",
    ].join("\n");
    await writeFile(join(dir, "getmailrc"), rc, { mode: 0o600 });
  });
  after(async () => {
    await dovecot?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(
    `fetches ${COUNT} messages byte-identical; a second run delivers nothing`,
    { skip, timeout: 900_000 },
    async () => {
      const args = ["--getmaildir", dir, "--rcfile", join(dir, "getmailrc")];
      const first = await run(getmail!, args, home.dir);
      assert.match(first, /^exit 0\n/, first);
      assertAllOnce(await inbox(home), RETURN_PATH);
      const second = await run(getmail!, args, home.dir);
      assert.match(second, /^exit 0\n/, second);
      assert.match(second, /0 messages? \(0 bytes\) retrieved/, second);
      assertAllOnce(await inbox(home), RETURN_PATH);
    },
  );
});
