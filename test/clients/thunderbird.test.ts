/**
 * Thunderbird (Debian thunderbird), the client the product is built for, headless against
 * aerogramme-local: a fresh profile whose account is written in prefs.js and whose password is in
 * Thunderbird's own login store (thunderbird_login.py). It must store every message of a
 * 1,000-message INBOX in its offline store, and the flags its message filter sets must reach the
 * server, for the first sync and for a message delivered while it IDLEs.
 *
 * Thunderbird takes a few seconds to start and waits about 6 s of IDLE before it downloads bodies,
 * so this file runs only when AGL_TEST_THUNDERBIRD=1 (.ci/run sets it).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findExecutable, peersOff, skipUnless } from "../support/peers.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { runChild } from "../support/runChild.ts";

const COUNT = 1000;
/** Every tenth message has this in its subject; Thunderbird's filter flags and reads those. */
const MARKER = "flagme";
const thunderbird = findExecutable("thunderbird");
const python = findExecutable("python3");
/** Thunderbird's own NSS library: its login store format is what that version writes. */
const nssDir = [thunderbird && dirname(realpathSync(thunderbird)), "/usr/lib/thunderbird"].find(
  (d): d is string => d !== undefined && existsSync(join(d, "libnss3.so")),
);
const skip =
  !peersOff && process.env.AGL_TEST_THUNDERBIRD !== "1"
    ? "runs only with AGL_TEST_THUNDERBIRD=1 (about a minute; .ci/run sets it)"
    : skipUnless(
        thunderbird !== undefined && nssDir !== undefined,
        "thunderbird",
        "apt-get install thunderbird",
      ) || skipUnless(python !== undefined, "python3", "apt-get install python3");

let server: TestServer;
let dir: string;
let profile: string;
let tb: ChildProcess | undefined;
let tbOutput = "";

function message(i: number): string {
  return (
    `From: Sender ${i % 13} <sender${i % 13}@example.org>\r\nTo: alice@example.org\r\n` +
    `Subject: Item ${i}${i % 10 === 0 ? ` ${MARKER}` : ""}\r\nMessage-ID: <item${i}@example.org>\r\n` +
    `Date: Mon, 2 Mar 2026 10:${String(i % 60).padStart(2, "0")}:00 +0000\r\n\r\n` +
    `Body of item ${i}.\r\n${"Some text to give it a size. ".repeat(1 + (i % 7))}\r\nEnd of item ${i}.\r\n`
  );
}

/** The account, as Thunderbird's account manager keeps it, plus a Local Folders account. */
function prefs(): string {
  const p: Record<string, string | number | boolean> = {
    "mail.accountmanager.accounts": "account1,account2",
    "mail.accountmanager.defaultaccount": "account1",
    "mail.accountmanager.localfoldersserver": "server2",
    "mail.account.account1.server": "server1",
    "mail.account.account1.identities": "id1",
    "mail.identity.id1.useremail": "alice@example.org",
    "mail.identity.id1.fullName": "Alice",
    "mail.server.server1.type": "imap",
    "mail.server.server1.hostname": "127.0.0.1",
    "mail.server.server1.port": server.port,
    "mail.server.server1.userName": server.user,
    "mail.server.server1.name": "aerogramme-local",
    "mail.server.server1.socketType": 0,
    // 3: normal password (AUTHENTICATE PLAIN, or LOGIN)
    "mail.server.server1.authMethod": 3,
    // Without this, Thunderbird connects only when a window asks it to; headless there is none.
    "mail.server.server1.login_at_startup": true,
    "mail.server.server1.check_new_mail": true,
    "mail.server.server1.offline_download": true,
    "mail.server.server1.directory-rel": "[ProfD]ImapMail/127.0.0.1",
    "mail.account.account2.server": "server2",
    "mail.server.server2.type": "none",
    "mail.server.server2.hostname": "Local Folders",
    "mail.server.server2.userName": "nobody",
    "mail.server.server2.name": "Local Folders",
    "mail.server.server2.directory-rel": "[ProfD]Mail/Local Folders",
    "mail.shell.checkDefaultClient": false,
    "mailnews.start_page.enabled": false,
    "app.update.auto": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "toolkit.telemetry.enabled": false,
  };
  return Object.entries(p)
    .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`)
    .join("");
}

/** An incoming filter (type 17: on new mail and by hand) that flags and reads the marked messages. */
const FILTER_RULES = [
  'version="9"',
  'logging="no"',
  'name="flag the marked"',
  'enabled="yes"',
  'type="17"',
  'action="Mark flagged"',
  'action="Mark read"',
  `condition="AND (subject,contains,${MARKER})"`,
  "",
].join("\n");

/** The items whose whole message is in Thunderbird's offline store (an mbox file), by number. */
function storedItems(): Set<number> {
  const file = join(profile, "ImapMail/127.0.0.1/INBOX");
  const found = new Set<number>();
  if (!existsSync(file)) return found;
  for (const entry of readFileSync(file, "latin1").split(/^From - .*\r?\n/m)) {
    const id = /^Message-ID: <(item(\d+)|late)@example\.org>\r?$/m.exec(entry);
    if (!id) continue;
    const n = id[2] === undefined ? -1 : Number(id[2]);
    const whole =
      n === -1 ? /Delivered while Thunderbird idles\./.test(entry) : entry.includes(`End of item ${n}.`);
    if (whole) found.add(n);
  }
  return found;
}

async function until<T>(
  what: string,
  ms: number,
  probe: () => T | Promise<T>,
  done: (v: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline || (tb !== undefined && tb.exitCode !== null))
      assert.fail(
        `${what}: not after ${ms} ms (last: ${JSON.stringify(v)})\nThunderbird said:\n${tbOutput.slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** UIDs of INBOX messages with \Flagged and with \Seen, as the server holds them. */
async function serverFlags(): Promise<{ flagged: number[]; seen: number[] }> {
  const c = await imapflowClient(server);
  try {
    await c.mailboxOpen("INBOX", { readOnly: true });
    const flagged = (await c.search({ flagged: true }, { uid: true })) || [];
    const seen = (await c.search({ seen: true }, { uid: true })) || [];
    return { flagged, seen };
  } finally {
    await c.logout();
  }
}

before(
  async () => {
    if (skip) return;
    server = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "aerogramme-thunderbird-"));
    profile = join(dir, "profile");
    mkdirSync(join(profile, "ImapMail/127.0.0.1"), { recursive: true });
    writeFileSync(join(profile, "prefs.js"), prefs());
    writeFileSync(join(profile, "ImapMail/127.0.0.1/msgFilterRules.dat"), FILTER_RULES);
    const script = fileURLToPath(new URL("./thunderbird_login.py", import.meta.url));
    const login = await runChild(
      python!,
      [script, nssDir!, profile, "imap://127.0.0.1", server.user, server.password],
      { timeoutMs: 30_000, env: { ...process.env, LD_LIBRARY_PATH: nssDir! } },
    );
    assert.equal(login.status, 0, `${login.stdout}\n${login.stderr}`);
    const c = await imapflowClient(server);
    try {
      for (let i = 0; i < COUNT; i++) await c.append("INBOX", message(i));
    } finally {
      await c.logout();
    }
  },
  { timeout: 90_000 },
);

after(async () => {
  if (skip) return;
  if (tb?.pid !== undefined && tb.exitCode === null) {
    const exited = new Promise((r) => tb!.once("exit", r));
    // Its own process group (detached): the wrapper script and Thunderbird's child processes.
    process.kill(-tb.pid, "SIGTERM");
    const timer = setTimeout(() => {
      try {
        process.kill(-tb!.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  }
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test(
  "Thunderbird (needs thunderbird, headless) stores all 1,000 messages offline and its filter's flags reach the server",
  { skip, timeout: 120_000 },
  async () => {
    const marked = [...Array(COUNT).keys()].filter((i) => i % 10 === 0).map((i) => i + 1); // UID = i + 1
    tb = spawn(thunderbird!, ["--headless", "--profile", profile, "--no-remote"], {
      // A home of its own: nothing is read from or written to the real user's Thunderbird.
      env: { ...process.env, HOME: dir, MOZ_HEADLESS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const keep = (d: Buffer) => (tbOutput = (tbOutput + d.toString()).slice(-20_000));
    tb.stdout!.on("data", keep);
    tb.stderr!.on("data", keep);

    const started = Date.now();
    await until("every message in the offline store", 75_000, storedItems, (s) => s.size === COUNT);
    const synced = Date.now() - started;

    const flags = await until(
      "the filter's flags on the server",
      15_000,
      serverFlags,
      (f) => f.flagged.length >= marked.length,
    );
    assert.deepEqual(flags.flagged, marked);
    assert.deepEqual(flags.seen, marked);

    // A delivery while Thunderbird idles: pushed, stored offline, filtered, flagged on the server.
    const c = await imapflowClient(server);
    try {
      await c.append(
        "INBOX",
        `From: late@example.org\r\nTo: alice@example.org\r\nSubject: Late ${MARKER}\r\n` +
          `Message-ID: <late@example.org>\r\n\r\nDelivered while Thunderbird idles.\r\n`,
      );
    } finally {
      await c.logout();
    }
    await until("the late message in the offline store", 15_000, storedItems, (s) => s.has(-1));
    const late = await until("the late message flagged", 10_000, serverFlags, (f) =>
      f.flagged.includes(COUNT + 1),
    );
    assert.deepEqual(late.flagged, [...marked, COUNT + 1]);
    assert.deepEqual(late.seen, [...marked, COUNT + 1]);
    process.stderr.write(`thunderbird: ${COUNT} messages offline ${synced} ms after start\n`);
  },
);
