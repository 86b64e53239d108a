/**
 * fetchmail (`mda "... deliver"`) pulls the provider's 200 messages into our server through
 * `aerogramme-local deliver` (issue 13; fetcherProvider.ts has the provider and the checks).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DovecotServer } from "../../bench/dovecot.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { runChild } from "../support/runChild.ts";
import { CLI_PASSWORD, cliEnv, withRunningServer } from "../cli/cliHarness.ts";
import { COUNT, assertAllOnce, deliver, hasDovecot, inbox, provider } from "./fetcherProvider.ts";

const fetchmail = findExecutable("fetchmail");
describe("fetchmail into deliver", { concurrency: 1 }, () => {
  const skip =
    skipUnless(hasDovecot, "Dovecot", "apt-get install dovecot-imapd") ||
    skipUnless(fetchmail !== undefined, "fetchmail", "apt-get install fetchmail");
  const home = withRunningServer({ password: CLI_PASSWORD, start: skip ? "manual" : "before" });
  let dovecot: DovecotServer | undefined;
  let dir = "";
  before(async () => {
    if (skip) return;
    dovecot = await provider();
    dir = await mkdtemp(join(tmpdir(), "agl-fetchmail-"));
    // `keep`: the provider keeps the mail, marked seen, so a second run finds nothing new.
    // `invisible`: no Received: line of fetchmail's own, so what arrives is what the provider held.
    const rc = [
      "set no syslog",
      "set invisible",
      `poll 127.0.0.1 service ${dovecot.port} protocol IMAP auth password`,
      `  user "${dovecot.user}" password "${dovecot.password}" is alice here`,
      "  sslproto '' keep",
      `  mda "${deliver}"`,
      "",
    ].join("\n");
    await writeFile(join(dir, "fetchmailrc"), rc, { mode: 0o600 });
  });
  after(async () => {
    await dovecot?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(
    `fetches ${COUNT} messages byte-identical; a second run delivers nothing`,
    { skip, timeout: 900_000 },
    async () => {
      const args = ["-f", join(dir, "fetchmailrc"), "--pidfile", join(dir, "pid"), "-v", "--nodetach"];
      const env = { ...process.env, FETCHMAILHOME: dir };
      const first = await runChild(fetchmail!, args, {
        timeoutMs: 600_000,
        env: { ...cliEnv(home.dir), ...env },
      });
      assert.equal(first.status, 0, `fetchmail failed:\n${first.stdout}\n${first.stderr}`);
      assertAllOnce(await inbox(home));
      const second = await runChild(fetchmail!, args, {
        timeoutMs: 120_000,
        env: { ...cliEnv(home.dir), ...env },
      });
      // 1 is fetchmail's "no mail".
      assert.equal(second.status, 1, `second fetchmail run:\n${second.stdout}\n${second.stderr}`);
      assertAllOnce(await inbox(home));
    },
  );
});
