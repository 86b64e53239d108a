/**
 * Issue 12's delivery attacks through the command line: `deliver`, `status` and `init` run in this
 * process through the binary's `main` (runCliHere; deliver.test.ts runs them on the binary), `start`
 * is the binary, and an IMAP client. The host (test/support/forgingHost.ts) works on the embedded
 * data folder while no server holds it, as a storage host would on its own disks.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { RawImap } from "../support/rawImap.ts";
import { MaliciousHost } from "../support/forgingHost.ts";
import {
  tempHome,
  withRunningServer,
  withSetUpHome,
  type RunningServer,
  CLI_PASSWORD,
} from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";
import { imapflowClient } from "../support/imapflowClient.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;

type Client = Awaited<ReturnType<typeof imapflowClient>>;

/** What the host copied, kept from one attack to the next. */
const hostCopies = new Map<string, Uint8Array>();

/** Runs `attack` with the host's powers over the home's embedded data folder. */
async function asHost<T>(home: string, attack: (host: MaliciousHost) => Promise<T>): Promise<T> {
  const store = await openEmbeddedStore(join(home, "data"));
  try {
    return await attack(new MaliciousHost(store, hostCopies));
  } finally {
    await store.close();
  }
}

const queue = (home: string) => asHost(home, async (h) => (await h.store.blobs.list("incoming/")).keys);

/** A real `init`: an account of its own (copyHome gives every home the same one). */
async function init(home: string): Promise<void> {
  const r = await runCliHere(["init", "--user", "alice", "--password-stdin"], {
    home,
    input: `${PASSWORD}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
}

const deliver = (home: string, subject: string) =>
  runCliHere(["deliver"], { home, input: `From: someone@example.org\nSubject: ${subject}\n\n${subject}\n` });

function connect(server: RunningServer): Promise<Client> {
  return imapflowClient({ host: server.host, port: server.port, user: "alice", password: PASSWORD });
}

/** Subject -> keywords in INBOX once it holds `count` messages (bounded wait). */
async function inbox(client: Client, count: number): Promise<Map<string, string[]>> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const status = await client.status("INBOX", { messages: true });
    if (status && (status.messages ?? 0) >= count) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const lock = await client.getMailboxLock("INBOX");
  try {
    const out = new Map<string, string[]>();
    for await (const msg of client.fetch("1:*", { envelope: true, flags: true })) {
      const subject = msg.envelope?.subject ?? "";
      assert.ok(!out.has(subject), `"${subject}" is in INBOX twice`);
      out.set(
        subject,
        [...(msg.flags ?? [])].filter((f) => !f.startsWith("\\")),
      );
    }
    return out;
  } finally {
    lock.release();
  }
}

async function waitFor(what: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(what(), "waited in vain");
}

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

describe("delivery attacks through the binary", { concurrency: true }, () => {
  describe("a host that swaps the public key in keys/root", IN_ORDER, () => {
    const home = withRunningServer({ password: PASSWORD, start: "manual" });

    test("deliver refuses with exit 8 and queues nothing, with no server and beside one", async () => {
      await asHost(home.dir, (h) => h.swapPublicKey());
      const direct = await deliver(home.dir, "for the host's key");
      assert.equal(direct.code, 8, direct.stderr);
      assert.match(direct.stderr, /not the one this home pinned/);
      assert.deepEqual(await queue(home.dir), []);

      const server = await home.start();
      const beside = await deliver(home.dir, "for the host's key");
      assert.equal(beside.code, 8, beside.stderr);
      assert.match(beside.stderr, /not the one this home pinned/);
      await server.stop();
      assert.deepEqual(await queue(home.dir), []);
    });
  });

  describe("a key root replaced by another account's that the same password opens", IN_ORDER, () => {
    const mine = withRunningServer({ password: PASSWORD, start: "manual" });
    let other: { dir: string; cleanup: () => Promise<void> } | undefined;
    after(() => other?.cleanup());

    test("status --password-stdin exits 8 and an IMAP login gets NO [CORRUPTION]", async () => {
      other = await tempHome();
      await init(other.dir);
      const otherRoot = await asHost(other.dir, async (h) => (await h.store.blobs.get("keys/root"))!);
      await asHost(mine.dir, (h) => h.store.blobs.put("keys/root", otherRoot));

      const status = await runCliHere(["status", "--password-stdin"], {
        home: mine.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(status.code, 8, status.stderr);
      assert.match(status.stderr, /does not hold the public key this home pinned/);

      const server = await mine.start();
      const imap = await RawImap.connect(server.port, server.host);
      try {
        await imap.readLine();
        const answer = await imap.command(`LOGIN alice "${PASSWORD}"`);
        assert.match(answer.at(-1)!, /^\S+ NO \[CORRUPTION\]/);
      } finally {
        imap.close();
      }
    });
  });

  describe("a home set up before the key was pinned", IN_ORDER, () => {
    const home = withSetUpHome({
      password: PASSWORD,
      // What an older build left: no pin, no sender key, no record of filed deliveries.
      prepare: async (dir) => {
        await unlink(join(dir, "publicKey"));
        await unlink(join(dir, "senderKey"));
        await asHost(dir, async (h) => {
          const row = (await h.store.rows.read("incoming", "filed"))!;
          await h.store.rows.delete("incoming", "filed", row.token);
        });
      },
    });

    test("deliver says what to do (exit 6); the next unlock pins, and deliver then works", async () => {
      const refused = await deliver(home.dir, "before the pin");
      assert.equal(refused.code, 6, refused.stderr);
      assert.match(refused.stderr, /has not pinned the account's public key yet.*status --password-stdin/s);
      assert.deepEqual(await queue(home.dir), []);

      const status = await runCliHere(["status", "--password-stdin"], {
        home: home.dir,
        input: `${PASSWORD}\n`,
      });
      assert.equal(status.code, 13, status.stderr); // opened and pinned; no server runs
      for (const file of ["publicKey", "senderKey"])
        assert.equal((await stat(join(home.dir, file))).mode & 0o777, 0o600, file);
      const delivered = await deliver(home.dir, "after the pin");
      assert.equal(delivered.code, 0, delivered.stderr);
      assert.equal((await queue(home.dir)).length, 1);
      assert.ok(
        await asHost(
          home.dir,
          async (h) => (await h.store.rows.read("incoming", "filed"))?.values.length === 1,
        ),
        "the unlock started a record of filed deliveries",
      );
    });
  });

  describe("a host that forges and replays deliveries, through the running server", IN_ORDER, () => {
    const home = withRunningServer({ password: PASSWORD, start: "manual" });
    let wire: string;

    test("forged mail is filed with $Unverified; this home's deliveries are not", async () => {
      assert.equal((await deliver(home.dir, "wire 10000 EUR")).code, 0);
      wire = await asHost(home.dir, async (h) => {
        const [queued] = await h.copyQueue();
        const mail = (subject: string) => ({
          mailbox: "INBOX",
          internalDate: Date.now(),
          raw: new TextEncoder().encode(`Subject: ${subject}\r\n\r\n${subject}\r\n`),
        });
        await h.forge(mail("forged, anonymous"));
        await h.forge(mail("forged, from the host's own key"), h.ownSender);
        return queued!;
      });
      const client = await connect(await home.start());
      try {
        assert.deepEqual([...(await inbox(client, 3)).entries()].sort(), [
          ["forged, anonymous", ["$Unverified"]],
          ["forged, from the host's own key", ["$Unverified"]],
          ["wire 10000 EUR", []],
        ]);
        const beside = await deliver(home.dir, "beside the server");
        assert.equal(beside.code, 0, beside.stderr);
        assert.deepEqual((await inbox(client, 4)).get("beside the server"), []);
      } finally {
        await client.logout();
      }
    });

    test("a filed delivery put back is refused and deleted, not filed again", async () => {
      await home.server.stop();
      await asHost(home.dir, (h) => h.putBack(wire));
      const server = await home.start();
      const client = await connect(server);
      try {
        await waitFor(() => server.stderr().includes(`incoming ${wire} refused: it was filed before`));
        const now = await inbox(client, 4);
        assert.equal(now.size, 4);
        assert.deepEqual(now.get("wire 10000 EUR"), []);
      } finally {
        await client.logout();
      }
      await server.stop();
      assert.deepEqual(await queue(home.dir), []);
    });
  });
});
