/**
 * Issue 12, "what the host learns": the table of docs/crypto.md lists every key pattern written to
 * storage and the kind of its value. A scripted session through the real server (wired as the
 * daemon wires it: the account directory pinning keys at unlock, the incoming mover started by the
 * first login, the IMAP server) runs on a store that records every key written, on the embedded
 * backend and on Garage. It fails on a key no pattern matches, on a value whose size is not of its
 * pattern's kind (sealed values must fall on the size buckets), and on a pattern nobody wrote.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TEST_KDF } from "../../../src/crypto/passwordKey.ts";
import { createAccount } from "../../../src/mail/account.ts";
import { AccountDirectory } from "../../../src/mail/accountDirectory.ts";
import { importMail } from "../../../src/mail/importExport/index.ts";
import {
  adoptAccount,
  deliveryPublicKey,
  enqueueDelivery,
  homeSender,
  IncomingMover,
  type HomeDeliveryKeys,
} from "../../../src/mail/incoming/index.ts";
import { uidIndexMachine } from "../../../src/mail/mailbox.ts";
import { startImapServer } from "../../../src/server/imap/server.ts";
import { openEmbeddedStore } from "../../../src/storage/embedded/index.ts";
import { openGarageStore } from "../../../src/storage/garage/index.ts";
import type { Store } from "../../../src/storage/types.ts";
import { Bayou } from "../../../src/sync/index.ts";
import { dumpBucket, garageBinary, startGarage, type GaragePeer } from "../../support/garage.ts";
import { imapflowClient } from "../../support/imapflowClient.ts";
import { skipUnless } from "../../support/peers.ts";
import { recordingStore, type RecordedWrite } from "../../support/recordingStore.ts";
import { matchKey, readStorageTable, valueProblem, type KeyPattern } from "../../support/storageTable.ts";

const USER = "alice";
const PASSWORD = "what the host learns test password";
/** Patterns only a step the session cannot take writes (the write probe of `init` and `doctor`). */
const NOT_IN_SESSION = new Set(["probe/<random>"]);
/** Patterns only a store whose rows take bodies writes (Store.largeRowBytes: Garage's K2V). */
const ONLY_LARGE_ROWS = new Set(["body / <id>"]);

const message = (subject: string, bodyBytes: number) =>
  `From: Someone <someone@example.org>\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n` +
  `Message-ID: <${subject.replace(/\W/g, "")}@example.org>\r\n\r\n` +
  `${"The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil(bodyBytes / 45)).slice(0, bodyBytes)}\r\n`;

/** A home's key files, in memory (the daemon keeps them in the settings folder). */
function memoryHome(): HomeDeliveryKeys {
  let publicKey: Uint8Array | undefined;
  let senderKey: Uint8Array | undefined;
  return {
    where: "the test home",
    readPublicKey: async () => publicKey,
    writePublicKey: async (k) => void (publicKey = k),
    readSenderKey: async () => senderKey,
    writeSenderKey: async (k) => void (senderKey = k),
  };
}

/**
 * init, then a server as the daemon wires it, and an IMAP client that goes through every kind of
 * write; a delivery, an import, and a checkpoint written by a second computer whose clock is ahead.
 */
async function scriptedSession(store: Store, scratch: string): Promise<void> {
  // init
  const home = memoryHome();
  const created = await createAccount(store, { user: USER, password: PASSWORD, kdf: TEST_KDF });
  await adoptAccount(home, created, { settingUp: true });
  await created.close();

  // start
  const directory = new AccountDirectory(store, USER, {
    throttle: { baseDelayMs: 20 },
    onUnlock: (account) => adoptAccount(home, account),
    // The list view shared through the bucket, 2 UIDs a segment: the MOVE, the EXPUNGE and the
    // import write some.
    account: { listViewDir: join(scratch, "list-view"), shareListView: true, listSegmentSpan: 2 },
  });
  const mover = new IncomingMover(store, { intervalMs: 200, watchPollMs: 200 });
  directory.onLogin((account) => void mover.startWith(account));
  const server = await startImapServer({ host: "127.0.0.1", port: 0, directory, log: () => {} });
  try {
    const client = await imapflowClient({ port: server.port, user: USER, password: PASSWORD });
    await client.mailboxCreate("Projects");
    await client.mailboxCreate("Projects/Old");
    await client.mailboxCreate("Scratch");
    await client.mailboxRename("Projects/Old", "Archive/Old");
    await client.mailboxDelete("Scratch");
    await client.mailboxSubscribe("Projects");
    for (const [i, size] of [10, 300, 2_000, 20_000, 70_000, 200_000].entries())
      await client.append("INBOX", message(`note ${i}`, size), i % 2 ? ["\\Seen"] : []);
    const lock = await client.getMailboxLock("INBOX");
    try {
      await client.messageFlagsAdd("1", ["\\Flagged"]);
      await client.messageFlagsAdd("2:4", ["$Important", "\\Answered"]);
      await client.messageFlagsRemove("2", ["\\Seen"]);
      await client.messageCopy("1:2", "Projects");
      await client.messageMove("3", "Archive/Old");
      await client.messageFlagsAdd("4", ["\\Deleted"]);
      await client.messageDelete("5"); // STORE \Deleted + EXPUNGE
    } finally {
      lock.release();
    }

    // deliver: the home's pinned key and sender key, then the mover files it
    const delivered = await enqueueDelivery(
      store,
      {
        mailbox: "INBOX",
        internalDate: Date.now(),
        raw: new TextEncoder().encode(message("delivered", 500)),
      },
      await deliveryPublicKey(store, home),
      await homeSender(home),
    );
    for (let i = 0; i < 100 && (await store.blobs.head(delivered)); i++) {
      mover.poke();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await store.blobs.head(delivered), null, "the mover filed the delivery");

    // import, through the directory's account as the control socket does
    const mbox = join(scratch, "import.mbox");
    await writeFile(
      mbox,
      [0, 1, 2]
        .map((i) => `From someone@example.org Mon Jan  1 00:00:00 2024\n${message(`old ${i}`, 400 * i)}`)
        .join("\n"),
    );
    const account = await directory.login(USER, PASSWORD);
    const summary = await importMail(account, { path: mbox, format: "mbox", mailbox: "Imported" });
    assert.equal(summary.messages, 3);

    // a second computer, clock two minutes ahead, folds INBOX into a checkpoint and, once it has
    // known the rows for the retention, deletes them
    const inbox = (await account.listMailboxes()).mailboxes.find((m) => m.name === "INBOX")!;
    let elapsed = 0;
    const ahead = new Bayou({
      store,
      key: account.subkey("uid-index"),
      path: `index/${inbox.id}`,
      machine: uidIndexMachine(inbox.uidvalidity),
      clock: () => Date.now() + 120_000,
      elapsed: () => elapsed,
    });
    await ahead.sync();
    elapsed += 3_600_000;
    await ahead.checkpoint();
    ahead.close();

    const status = await client.status("INBOX", { messages: true });
    assert.equal(status && status.messages, 4, "6 appended, 1 moved out, 2 expunged, 1 delivered");
    await client.logout();
  } finally {
    await server.close();
    await mover.close();
    await directory.close();
  }
}

/** Every problem with what was written, against the table. */
function problems(
  table: KeyPattern[],
  writes: { kind: "blob" | "row"; name: string; bytes: Uint8Array | null }[],
) {
  const out: string[] = [];
  for (const w of writes) {
    const pattern = matchKey(table, w.kind, w.name);
    if (!pattern) {
      out.push(`${w.kind} ${w.name}: no pattern of docs/crypto.md matches it`);
      continue;
    }
    const problem = w.bytes ? valueProblem(pattern.value, w.bytes) : undefined;
    if (problem) out.push(`${w.kind} ${w.name} (${pattern.value}): ${problem}`);
  }
  return out;
}

/** One line per pattern: how many writes, and the value sizes the host saw. */
function report(table: KeyPattern[], writes: RecordedWrite[], backend: string): void {
  for (const p of table) {
    const mine = writes.filter((w) => w.kind === p.kind && p.regex.test(w.name));
    const sizes = [...new Set(mine.flatMap((w) => (w.bytes ? [w.bytes.length] : [])))].sort((a, b) => a - b);
    const deletes = mine.filter((w) => w.op === "delete").length;
    console.log(
      `# ${backend}: ${p.kind} ${p.pattern}: ${mine.length} writes (${deletes} deletes), sizes ${sizes.join(" ")}`,
    );
  }
}

function unwritten(table: KeyPattern[], writes: RecordedWrite[], largeRows: boolean): string[] {
  return table
    .filter((p) => !NOT_IN_SESSION.has(p.pattern) && (largeRows || !ONLY_LARGE_ROWS.has(p.pattern)))
    .filter((p) => !writes.some((w) => w.op !== "delete" && w.kind === p.kind && p.regex.test(w.name)))
    .map((p) => `${p.kind} ${p.pattern}`);
}

test("the table of docs/crypto.md reads, and its checks refuse what they should", () => {
  const table = readStorageTable();
  assert.ok(table.length >= 12, `${table.length} patterns`);
  assert.ok(matchKey(table, "row", `index/${"a".repeat(32)} / ${"0".repeat(28)}`));
  assert.ok(!matchKey(table, "row", `index/${"a".repeat(32)} / lock`));
  assert.ok(!matchKey(table, "blob", `mail/${"a".repeat(31)}`));
  assert.ok(
    matchKey(table, "blob", `index/${"a".repeat(32)}/checkpoint/${"1".repeat(28)}-${"2".repeat(16)}`),
  );
  const clearTs = new TextEncoder().encode("0190a1b2c3d4e5f60718293a4b5c");
  assert.ok(valueProblem("random 8", clearTs));
  const exactSealed = Uint8Array.from({ length: 49 + 300 }, (_, i) => (i === 0 ? 1 : 7));
  assert.ok(valueProblem("sealed", exactSealed), "an unpadded sealed value is refused");
  const offBucket = Uint8Array.from({ length: 49 + 300 }, (_, i) => (i === 0 ? 2 : 7));
  assert.ok(valueProblem("sealed", offBucket), "a padded value off the buckets is refused");
  assert.equal(
    valueProblem(
      "sealed",
      Uint8Array.from({ length: 49 + 512 }, (_, i) => (i === 0 ? 2 : 7)),
    ),
    undefined,
  );
  assert.equal(valueProblem("body", new Uint8Array(33 + 256 + 16)), undefined);
  assert.equal(valueProblem("body", new Uint8Array(33 + 3 * 65_536 + 3 * 16)), undefined);
  assert.ok(valueProblem("body", new Uint8Array(33 + 300 + 16)));
  assert.throws(() => readStorageTable("# no such section\n"));
});

describe("what the host learns, on the embedded backend", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "agl-host-learns-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("every key a full session writes is in the table of docs/crypto.md, with a value of its kind", async () => {
    const table = readStorageTable();
    const inner = await openEmbeddedStore(join(dir, "data"));
    const { store, writes } = recordingStore(inner);
    try {
      await scriptedSession(store, dir);
    } finally {
      await store.close();
    }
    assert.ok(writes.length > 50, `${writes.length} writes recorded`);
    report(table, writes, "embedded");
    assert.deepEqual(problems(table, writes), []);
    assert.deepEqual(unwritten(table, writes, false), [], "every pattern of the table was written");
  });
});

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");

describe("what the host learns, on Garage", { skip }, () => {
  let peer: GaragePeer;
  let dir: string;
  before(async () => {
    peer = await startGarage();
    dir = await mkdtemp(join(tmpdir(), "agl-host-learns-"));
  });
  after(async () => {
    await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    "every key a full session writes, and everything the bucket holds after it, is in the table of docs/crypto.md",
    { timeout: 180_000 },
    async () => {
      const table = readStorageTable();
      const inner = openGarageStore(peer, {
        accessKeyId: peer.accessKeyId,
        secretAccessKey: peer.secretAccessKey,
      });
      const { store, writes } = recordingStore(inner);
      try {
        await scriptedSession(store, dir);
      } finally {
        await store.close();
      }
      report(table, writes, "garage");
      assert.deepEqual(problems(table, writes), []);
      assert.deepEqual(unwritten(table, writes, true), [], "every pattern of the table was written");

      // What the host holds at the end, read from Garage itself: S3 objects and K2V rows.
      const held = await dumpBucket(peer);
      assert.ok(held.length > 20, `${held.length} objects and rows held`);
      const asWrites = held.map((h) => ({
        kind: h.where === "s3" ? ("blob" as const) : ("row" as const),
        name: h.name,
        bytes: h.bytes.length > 0 ? h.bytes : null, // K2V tombstones come back empty
      }));
      assert.deepEqual(problems(table, asWrites), []);
    },
  );
});
