/**
 * What the two fetcher tests share (fetchmail.test.ts, getmail.test.ts): the two standard ways to
 * pull mail from a provider into `aerogramme-local deliver`, with the real Debian packages. A
 * private Dovecot plays the provider with 200 messages. Each fetcher must bring all 200 into our
 * server, byte for byte, and a second run must deliver nothing again. Two files, so that the test
 * runner runs them side by side: each is a few hundred starts of the deliver binary, one by one.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { after, before, test } from "node:test";
import { join } from "node:path";
import { startDovecot, dovecotBinary, type DovecotServer } from "../../bench/dovecot.ts";
import { cacheRoot, type Corpus } from "../../bench/corpus.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { runChild } from "../support/runChild.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { BIN, CLI_PASSWORD, cliEnv, withRunningServer, type ServerFixture } from "../cli/cliHarness.ts";

/**
 * Issue 13's acceptance: 200 messages from the provider. Every message is one start of the deliver
 * binary (~0.3 CPU s), so this file costs the suite about two minutes of CPU; kept, because a
 * fetcher's batching and its UIDL/seen bookkeeping only show with a mailbox of some size.
 */
export const COUNT = 200;
export const hasDovecot = findExecutable("dovecot", [dovecotBinary]) !== undefined;

/** Message i as the provider holds it (CRLF, as IMAP serves it): sizes and shapes vary. */
export function message(i: number): Buffer {
  const lines = [
    `From: Sender ${i % 13} <sender${i % 13}@provider.example>`,
    "To: alice@provider.example",
    `Subject: fetched ${i}`,
    `Message-ID: <fetched-${i}@provider.example>`,
    `Date: Mon, 1 Jan 2024 ${String(i % 24).padStart(2, "0")}:00:00 +0000`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    `Body of message ${i}: grüße, ça va, 日本語.`,
    ...Array.from(
      { length: 1 + (i % 40) },
      (_, n) => `line ${n} ${"lorem ipsum ".repeat(1 + ((i + n) % 9))}`,
    ),
    // A body line that starts like an mbox separator: deliver only drops a first "From " line.
    i % 10 === 0 ? "From the archive: this line is part of the body" : "-- ",
    "end",
    "",
  ];
  return Buffer.from(lines.join("\r\n"));
}

/** A Dovecot holding the COUNT messages, unread, in its INBOX (bench/dovecot.ts runs it). */
export async function provider(): Promise<DovecotServer> {
  await mkdir(cacheRoot, { recursive: true });
  const dir = await mkdtemp(join(cacheRoot, "fetchers-"));
  await mkdir(join(dir, "Maildir", "cur"), { recursive: true });
  const messages = [];
  for (let i = 0; i < COUNT; i++) {
    const body = message(i);
    const file = join("Maildir", "cur", `${1_700_000_000 + i}.M${i}P1.provider,S=${body.length}:2,`);
    await writeFile(join(dir, file), body, { mode: 0o644 });
    messages.push({ file, size: body.length, flags: [], date: 1_700_000_000 + i });
  }
  const corpus: Corpus = {
    version: 0,
    seed: 0,
    count: COUNT,
    totalBytes: 0,
    subjectMarker: "",
    subjectHits: 0,
    bodyMarker: "",
    bodyHits: 0,
    messages,
    dir,
  };
  const server = await startDovecot(corpus);
  const stopServer = () => server.stop();
  return {
    ...server,
    stop: async () => {
      await stopServer();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every message in INBOX once a login let the mover file them all (bounded wait), by Subject. */
export async function inbox(home: ServerFixture): Promise<Map<string, Buffer[]>> {
  const client = await imapflowClient({
    host: home.server.host,
    port: home.server.port,
    user: "alice",
    password: CLI_PASSWORD,
  });
  try {
    const deadline = Date.now() + 60_000;
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
      const status = await client.status("INBOX", { messages: true });
      const n = status ? (status.messages ?? 0) : 0;
      if (n !== last) [last, stableSince] = [n, Date.now()];
      else if (n >= COUNT && Date.now() - stableSince > 1_500) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const lock = await client.getMailboxLock("INBOX");
    try {
      const out = new Map<string, Buffer[]>();
      for await (const msg of client.fetch("1:*", { envelope: true, source: true })) {
        const subject = msg.envelope?.subject ?? "";
        out.set(subject, [...(out.get(subject) ?? []), msg.source!]);
      }
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/**
 * All COUNT there, exactly once each, and byte-identical to what the provider held after `added`, the
 * trace fields the fetcher itself puts on top (getmail always writes a Return-Path:).
 */
export function assertAllOnce(got: Map<string, Buffer[]>, added = ""): void {
  assert.equal([...got.values()].flat().length, COUNT, "messages in INBOX");
  for (let i = 0; i < COUNT; i++) {
    const copies = got.get(`fetched ${i}`) ?? [];
    assert.equal(copies.length, 1, `copies of message ${i}`);
    assert.ok(
      copies[0]!.equals(Buffer.concat([Buffer.from(added), message(i)])),
      `message ${i} differs:\n${copies[0]!.toString()}`,
    );
  }
}

/**
 * Runs a fetcher with the deliver binary on its PATH-free command line; the home from the env, with
 * `extra` variables (the fetcher's own). "exit N" first, then what it printed.
 */
export async function run(
  cmd: string,
  args: string[],
  home: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const r = await runChild(cmd, args, { timeoutMs: 600_000, env: cliEnv(home, extra) });
  return `exit ${r.status}\n${r.stdout}\n${r.stderr}`;
}

/** What getmail puts on top of every message it hands on (getmailcore/message.py, flatten). */
export const RETURN_PATH = "Return-Path: <unknown>\r\n";

export const deliver = `${process.execPath} ${BIN} deliver`;

export interface FetcherFixture {
  /** The skip reason when Dovecot or the fetcher is missing (test/support/peers.ts). */
  readonly skip: string | false;
  /** Our server, started on a set-up home before the tests. */
  readonly home: ServerFixture;
  /** The fetcher's own folder, holding `rcName` (made by `before`). */
  readonly dir: string;
}

/**
 * For one fetcher's describe block: the provider (a Dovecot with the COUNT messages), our server on a
 * home of its own, and a folder holding the fetcher's configuration as `rc` writes it (mode 0600).
 */
export function withFetcher(opts: {
  name: string;
  executable: string | undefined;
  install: string;
  rcName: string;
  rc: (dovecot: DovecotServer) => string;
}): FetcherFixture {
  const skip =
    skipUnless(hasDovecot, "Dovecot", "apt-get install dovecot-imapd") ||
    skipUnless(opts.executable !== undefined, opts.name, opts.install);
  const home = withRunningServer({ password: CLI_PASSWORD, start: skip ? "manual" : "before" });
  let dovecot: DovecotServer | undefined;
  let dir = "";
  before(async () => {
    if (skip) return;
    dovecot = await provider();
    dir = await mkdtemp(join(tmpdir(), `agl-${opts.name}-`));
    await writeFile(join(dir, opts.rcName), opts.rc(dovecot), { mode: 0o600 });
  });
  after(async () => {
    await dovecot?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    skip,
    home,
    get dir() {
      return dir;
    },
  };
}

/**
 * The test both fetcher files make: a first run brings all COUNT, once each, byte-identical (after
 * `added`); a second run, which `nothingNew` checks by the fetcher's own words, delivers nothing.
 * `args` and `env` get the fetcher's folder (FetcherFixture.dir, made by `before`).
 */
export function testFetchesAllOnce(
  fx: FetcherFixture,
  opts: {
    executable: string | undefined;
    args: (dir: string) => string[];
    env?: (dir: string) => Record<string, string>;
    added?: string;
    nothingNew: (second: string) => void;
  },
): void {
  test(
    `fetches ${COUNT} messages byte-identical; a second run delivers nothing`,
    { skip: fx.skip, timeout: 900_000 },
    async () => {
      const args = opts.args(fx.dir);
      const env = opts.env?.(fx.dir) ?? {};
      const first = await run(opts.executable!, args, fx.home.dir, env);
      assert.match(first, /^exit 0\n/, first);
      assertAllOnce(await inbox(fx.home), opts.added);
      const second = await run(opts.executable!, args, fx.home.dir, env);
      opts.nothingNew(second);
      assertAllOnce(await inbox(fx.home), opts.added);
    },
  );
}
