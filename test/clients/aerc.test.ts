/**
 * aerc (Debian aerc), a terminal client that sorts and threads on the server, driven through tmux
 * against aerogramme-local. A recording proxy between them shows that aerc sent UID SORT and UID
 * THREAD (RFC 5256), and the screen shows the list in the server's order, with the reply threaded.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { TmuxDriver } from "../cli/tmuxDriver.ts";

const aerc = findExecutable("aerc");
const tmux = findExecutable("tmux");
const skip =
  skipUnless(aerc !== undefined, "aerc", "apt-get install aerc") ||
  skipUnless(tmux !== undefined, "tmux", "apt-get install tmux");

let server: TestServer;
let proxy: Server;
let dir: string;
let term: TmuxDriver | undefined;
/** What aerc sent, as text. */
let sent = "";

/** A loopback proxy to the server that keeps what the client sends. */
async function recordingProxy(port: number): Promise<Server> {
  const p = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    client.on("data", (d: Buffer) => (sent += d.toString("latin1")));
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => p.listen(0, "127.0.0.1", resolve));
  return p;
}

before(async () => {
  if (skip) return;
  server = await startTestServer();
  proxy = await recordingProxy(server.port);
  const proxyPort = (proxy.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), "aerogramme-aerc-"));
  const conf = join(dir, ".config", "aerc");
  mkdirSync(conf, { recursive: true });
  writeFileSync(
    join(conf, "accounts.conf"),
    [
      "[test]",
      `source = imap+insecure://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${proxyPort}`,
      "outgoing = /bin/false",
      "default = INBOX",
      "from = Alice <alice@example.org>",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const c = await imapflowClient(server);
  const mails = [
    ["bob@example.org", "<plan@x>", "", "Project plan"],
    ["carol@example.org", "<reply@x>", "<plan@x>", "Re: Project plan"],
    ["zed@example.org", "<other@x>", "", "Lunch on Friday"],
  ];
  for (const [from, id, refs, subject] of mails)
    await c.append(
      "INBOX",
      `From: ${from}\r\nTo: alice@example.org\r\nSubject: ${subject}\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n` +
        `Message-ID: ${id}\r\n${refs ? `References: ${refs}\r\n` : ""}\r\nHello.\r\n`,
    );
  await c.logout();
});

after(async () => {
  term?.kill();
  if (skip) return;
  proxy.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs aerc on INBOX until the list shows, and returns the screen and what it sent. */
async function runAerc(ui: string[]): Promise<{ screen: string; commands: string }> {
  writeFileSync(join(dir, ".config", "aerc", "aerc.conf"), ["[ui]", ...ui, ""].join("\n"));
  sent = "";
  term = TmuxDriver.start([aerc!], {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, ".config"),
    TERM: "xterm-256color",
    LANG: "C.UTF-8",
  });
  try {
    const screen = await term.waitFor(
      /Lunch on Friday[\s\S]*Project plan|Project plan[\s\S]*Lunch on Friday/,
      30_000,
    );
    term.type(":quit\r");
    await term.waitFor(/EXIT:0/, 20_000);
    return { screen, commands: sent.replace(/LOGIN .*/g, "LOGIN ...") };
  } finally {
    term.kill();
    term = undefined;
  }
}

/** The list's lines (sender and subject), top to bottom. */
function rows(screen: string): string[] {
  return [...screen.matchAll(/(\w+)@example\.org +\S* *(.*?) *$/gm)].map((m) => `${m[1]} ${m[2]}`);
}

test(
  "aerc (needs aerc, tmux) sorts INBOX on the server with UID SORT (RFC 5256 §3)",
  { skip, timeout: 120_000 },
  async () => {
    const { screen, commands } = await runAerc(["sort = -r from"]);
    assert.match(commands, /UID SORT \(REVERSE FROM\) "?UTF-8"?/i, commands);
    assert.deepEqual(
      rows(screen),
      ["zed Lunch on Friday", "carol Re: Project plan", "bob Project plan"],
      screen,
    );
  },
);

test(
  "aerc (needs aerc, tmux) threads INBOX on the server with UID THREAD REFERENCES (RFC 5256 §4)",
  { skip, timeout: 120_000 },
  async () => {
    const { screen, commands } = await runAerc(["threading-enabled = true"]);
    assert.match(commands, /UID THREAD REFERENCES "?UTF-8"?/i, commands);
    // The reply is drawn under its parent, its repeated subject replaced by the tree.
    assert.match(screen, /bob@example\.org +\S* *Project plan *\n.*carol@example\.org +\S* *└─>/, screen);
  },
);
