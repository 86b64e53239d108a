/**
 * Mail in from a real MTA (issue 13's acceptance): Debian's Postfix delivers to
 * `lmtp:inet:127.0.0.1:PORT`, where `aerogramme-local lmtp` serves from a delivery-only home on a
 * real Garage bucket; swaks sends through Postfix; the account's own server files what arrived and a
 * client reads it over IMAP. With Garage stopped, the LMTP server answers 4xx and Postfix keeps the
 * mail queued; once Garage is back, every message arrives, exactly once.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dumpBucket } from "../support/garage.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { skipUnless } from "../support/peers.ts";
import { postfixUsable, startPostfix, swaks, type PostfixPeer } from "../support/postfix.ts";
import {
  runCli,
  startLmtp,
  startServer,
  tempHome,
  type RunningLmtp,
  type RunningServer,
} from "./cliHarness.ts";
import { garageBinary, garageInitFlags, startGarage, type GaragePeer } from "./garagePeer.ts";

const skip =
  skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage") ||
  skipUnless(postfixUsable(), "Postfix and swaks, run as root", "apt-get install postfix swaks");
const PASSWORD = "a postfix test password 5521";
/** A word that is in every body and every subject, and must never be readable on the host. */
const MARKER = "quokkaplaintext";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `jobs` with at most `width` at once. */
async function bounded(width: number, jobs: (() => Promise<void>)[]): Promise<void> {
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
}

/** Queue ids of messages the LMTP server answered with a 4xx, which Postfix then deferred. */
function deferredBy4xx(log: string): Set<string> {
  const ids = new Set<string>();
  for (const m of log.matchAll(/ (\w+): to=<[^>]+>, .*status=deferred \(host [^ ]+ said: 4\d\d /g))
    ids.add(m[1]!);
  return ids;
}

describe("Postfix delivers over LMTP to a delivery-only home on Garage", { skip }, () => {
  let garage: GaragePeer;
  const cleanups: (() => Promise<void>)[] = [];
  let account: string;
  let lmtp: RunningLmtp | undefined;
  let server: RunningServer | undefined;
  let postfix: PostfixPeer | undefined;

  const backendFlags = () => garageInitFlags(garage, garage);
  const home = async () => {
    const h = await tempHome();
    cleanups.push(h.cleanup);
    return h.dir;
  };

  /** Subjects of every message in `mailbox`, read on a fresh connection (the last one may be gone). */
  async function subjects(mailbox: string): Promise<string[]> {
    const client = await imapflowClient({ ...server!, user: "alice", password: PASSWORD });
    try {
      const lock = await client.getMailboxLock(mailbox);
      try {
        const out: string[] = [];
        if (client.mailbox && client.mailbox.exists > 0)
          for await (const m of client.fetch("1:*", { envelope: true, source: true })) {
            assert.ok(m.source!.toString().includes(`${MARKER} body`), `body of ${m.envelope?.subject}`);
            out.push(m.envelope?.subject ?? "");
          }
        return out;
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined); // the answers are read; a lost BYE changes nothing
    }
  }

  /** Waits (bounded) until `mailbox` holds `count` messages, and returns their subjects. */
  async function waitFor(
    mailbox: string,
    count: number,
    withinMs: number,
    opts: { flush?: boolean } = {},
  ): Promise<string[]> {
    const deadline = Date.now() + withinMs;
    let seen: string[] = [];
    let problem = "";
    let flushed = 0;
    while (Date.now() < deadline) {
      // After an outage an admin runs `postqueue -f`: Postfix alone retries on its backoff, which
      // once left a deferred message "skipped, still being delivered" and untried for 180 s.
      if (opts.flush && Date.now() - flushed > 5_000) {
        flushed = Date.now();
        await postfix!.flush();
      }
      try {
        seen = await subjects(mailbox);
        if (seen.length >= count) return seen;
      } catch (e) {
        problem = String(e);
      }
      await sleep(500);
    }
    assert.fail(
      `${mailbox}: ${seen.length} of ${count} after ${withinMs} ms ${problem}\n${await postfix!.log()}`,
    );
  }

  const send = (n: number, to: string[]) =>
    swaks(postfix!.smtpPort, {
      from: "sender@example.org",
      to,
      subject: `${MARKER} postfix ${n}`,
      body: `${MARKER} body ${n}\nsecond line\n`,
      headers: [`Message-ID: <postfix-${n}@example.org>`],
    });

  before(async () => {
    garage = await startGarage();
    account = await home();
    const init = await runCli(["init", ...backendFlags(), "--user", "alice", "--password-stdin"], {
      home: account,
      input: `${garage.secretAccessKey}\n${PASSWORD}\n`,
    });
    assert.equal(init.code, 0, init.stderr);
    const status = await runCli(["status", "--json"], { home: account });
    const { fingerprint } = (JSON.parse(status.stdout) as { deliveryKey: { fingerprint: string } })
      .deliveryKey;
    const mailHost = await home();
    const made = await runCli(
      ["init", "--delivery-only", ...backendFlags(), "--user", "alice", "--fingerprint", fingerprint],
      { home: mailHost, input: `${garage.secretAccessKey}\n` },
    );
    assert.equal(made.code, 0, made.stderr);
    lmtp = await startLmtp(mailHost);
    server = await startServer(["--imap-port", "0"], { home: account });
    const client = await imapflowClient({ ...server, user: "alice", password: PASSWORD });
    await client.mailboxCreate("Lists");
    await client.logout();
    postfix = await startPostfix(lmtp.port);
  });

  after(async () => {
    await postfix?.stop();
    lmtp?.child.kill("SIGKILL");
    await server?.stop();
    for (const c of cleanups) await c();
    await garage?.stop();
  });

  test("50 messages to two recipients, one a plus-address, each land once in their mailbox", async () => {
    const all = Array.from({ length: 50 }, (_, i) => i);
    await bounded(
      5,
      all.map((n) => () => send(n, ["alice@example.test", "alice+Lists@example.test"])),
    );
    const expected = all.map((n) => `${MARKER} postfix ${n}`).sort();
    assert.deepEqual((await waitFor("INBOX", 50, 300_000)).sort(), expected);
    assert.deepEqual((await waitFor("Lists", 50, 120_000)).sort(), expected);
    const log = await postfix!.log();
    assert.equal(log.match(/status=sent \(250 /g)?.length, 100, log);
    assert.equal(await postfix!.queued(), 0);

    // What the host holds: no subject, no body, no address in the clear.
    const held = await dumpBucket(garage);
    assert.ok(held.length > 100, `${held.length} objects and rows`);
    for (const item of held) {
      const text = Buffer.from(item.bytes).toString("latin1");
      for (const word of [MARKER, "sender@example.org", "postfix-1@"])
        assert.ok(!text.includes(word), `${item.where} ${item.name} holds "${word}" in the clear`);
    }
  });

  test("with Garage stopped Postfix keeps the mail queued on a 4xx; once back, each arrives once", async () => {
    await garage.stopNode(0);
    try {
      const late = Array.from({ length: 10 }, (_, i) => 100 + i);
      await bounded(
        5,
        late.map((n) => () => send(n, ["alice@example.test"])),
      );
      // Every one of them was tried, answered 4xx by the LMTP server (not refused), and kept.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && deferredBy4xx(await postfix!.log()).size < 10) await sleep(500);
      const log = await postfix!.log();
      assert.equal(deferredBy4xx(log).size, 10, log);
      assert.equal(await postfix!.queued(), 10);
    } finally {
      await garage.startNode(0);
    }
    const inbox = await waitFor("INBOX", 60, 180_000, { flush: true });
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => `${MARKER} postfix ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `${MARKER} postfix ${100 + i}`),
    ].sort();
    assert.deepEqual(inbox.sort(), expected, "every message once, none twice");
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await postfix!.queued()) > 0) await sleep(500);
    assert.equal(await postfix!.queued(), 0);
    // Nothing came in twice late: a second look a little later finds the same 60.
    await sleep(3_000);
    assert.equal((await subjects("INBOX")).length, 60);
  });
});
