/**
 * fetchmail (`mda "... deliver"`) pulls the provider's 200 messages into our server through
 * `aerogramme-local deliver` (issue 13; fetcherProvider.ts has the provider and the checks).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { findExecutable } from "../support/peers.ts";
import { runChild } from "../support/runChild.ts";
import { cliEnv } from "../cli/cliHarness.ts";
import { COUNT, assertAllOnce, deliver, inbox, withFetcher } from "./fetcherProvider.ts";

const fetchmail = findExecutable("fetchmail");
describe("fetchmail into deliver", { concurrency: 1 }, () => {
  const fx = withFetcher({
    name: "fetchmail",
    executable: fetchmail,
    install: "apt-get install fetchmail",
    rcName: "fetchmailrc",
    // `keep`: the provider keeps the mail, marked seen, so a second run finds nothing new.
    // `invisible`: no Received: line of fetchmail's own, so what arrives is what the provider held.
    rc: (dovecot) =>
      [
        "set no syslog",
        "set invisible",
        `poll 127.0.0.1 service ${dovecot.port} protocol IMAP auth password`,
        `  user "${dovecot.user}" password "${dovecot.password}" is alice here`,
        "  sslproto '' keep",
        `  mda "${deliver}"`,
        "",
      ].join("\n"),
  });

  test(
    `fetches ${COUNT} messages byte-identical; a second run delivers nothing`,
    { skip: fx.skip, timeout: 900_000 },
    async () => {
      const dir = fx.dir;
      const args = ["-f", join(dir, "fetchmailrc"), "--pidfile", join(dir, "pid"), "-v", "--nodetach"];
      const env = { ...process.env, FETCHMAILHOME: dir };
      const first = await runChild(fetchmail!, args, {
        timeoutMs: 600_000,
        env: { ...cliEnv(fx.home.dir), ...env },
      });
      assert.equal(first.status, 0, `fetchmail failed:\n${first.stdout}\n${first.stderr}`);
      assertAllOnce(await inbox(fx.home));
      const second = await runChild(fetchmail!, args, {
        timeoutMs: 120_000,
        env: { ...cliEnv(fx.home.dir), ...env },
      });
      // 1 is fetchmail's "no mail".
      assert.equal(second.status, 1, `second fetchmail run:\n${second.stdout}\n${second.stderr}`);
      assertAllOnce(await inbox(fx.home));
    },
  );
});
