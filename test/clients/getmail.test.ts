/**
 * getmail6 (an MDA_external destination) pulls the provider's 200 messages into our server through
 * `aerogramme-local deliver` (issue 13; fetcherProvider.ts has the provider and the checks).
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { findExecutable } from "../support/peers.ts";
import { BIN } from "../cli/cliHarness.ts";
import { RETURN_PATH, testFetchesAllOnce, withFetcher } from "./fetcherProvider.ts";

const getmail = findExecutable("getmail");
describe("getmail6 into deliver", { concurrency: 1 }, () => {
  const fx = withFetcher({
    name: "getmail6",
    executable: getmail,
    install: "apt-get install getmail6",
    rcName: "getmailrc",
    // `read_all = false` and `delete = false`: getmail remembers what it took (its oldmail file) and
    // leaves the mail on the provider. `delivered_to`, `received` and `record_mailbox` off: no
    // header fields of its own but the Return-Path: it always writes.
    rc: (dovecot) =>
      [
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
      ].join("\n"),
  });

  testFetchesAllOnce(fx, {
    executable: getmail,
    args: (dir) => ["--getmaildir", dir, "--rcfile", join(dir, "getmailrc")],
    added: RETURN_PATH,
    nothingNew: (second) => {
      assert.match(second, /^exit 0\n/, second);
      assert.match(second, /0 messages? \(0 bytes\) retrieved/, second);
    },
  });
});
