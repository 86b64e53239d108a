/**
 * fetchmail (`mda "... deliver"`) pulls the provider's 200 messages into our server through
 * `aerogramme-local deliver` (issue 13; fetcherProvider.ts has the provider and the checks).
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { findExecutable } from "../support/peers.ts";
import { deliver, testFetchesAllOnce, withFetcher } from "./fetcherProvider.ts";

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

  testFetchesAllOnce(fx, {
    executable: fetchmail,
    args: (dir) => ["-f", join(dir, "fetchmailrc"), "--pidfile", join(dir, "pid"), "-v", "--nodetach"],
    env: (dir) => ({ FETCHMAILHOME: dir }),
    // 1 is fetchmail's "no mail".
    nothingNew: (second) => assert.match(second, /^exit 1\n/, second),
  });
});
