import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createAccount, type Account } from "../../src/mail/account.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import {
  enqueueDelivery,
  IncomingMover,
  openDelivery,
  sealDelivery,
  unlockDeliveryKeys,
} from "../../src/mail/incoming/index.ts";
import { Tampered, WrongContext } from "../../src/errors.ts";
import { MoverLease } from "../../src/mail/incoming/moverLease.ts";
import { AEAD_OVERHEAD, randomKey } from "../../src/crypto/aead.ts";
import { isBucket } from "../../src/crypto/padding.ts";

const PASSWORD = "incoming test password";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function bodiesOf(account: Account, name: string): Promise<string[]> {
  const mbx = await account.mailbox(name);
  await mbx.sync();
  const metas = await account.messages.getMeta(mbx.index.uids.map((u) => mbx.index.byUid.get(u)!.id));
  const out: string[] = [];
  for (const meta of metas.values()) out.push(dec(await account.messages.body(meta)));
  return out.sort();
}

describe("incoming delivery boxes", () => {
  test("a box opens with the account's keys and gives back mailbox, date and bytes", async () => {
    const store = memoryStore();
    await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
    const keys = await unlockDeliveryKeys(store, PASSWORD);
    const sealed = sealDelivery(keys.publicKey, "incoming/x", {
      mailbox: "Lists/rust",
      internalDate: 1234,
      raw: enc("hi"),
    });
    const opened = openDelivery(keys, "incoming/x", sealed);
    assert.deepEqual([opened.mailbox, opened.internalDate, dec(opened.raw)], ["Lists/rust", 1234, "hi"]);
    assert.ok(!dec(sealed).includes("Lists/rust"), "the mailbox name is sealed too");
  });

  test("a changed byte, or a box moved to another key, does not open", async () => {
    const store = memoryStore();
    await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
    const keys = await unlockDeliveryKeys(store, PASSWORD);
    const sealed = sealDelivery(keys.publicKey, "incoming/x", {
      mailbox: "INBOX",
      internalDate: 1,
      raw: enc("hello"),
    });
    const changed = Uint8Array.from(sealed);
    changed[changed.length - 20]! ^= 1;
    assert.throws(() => openDelivery(keys, "incoming/x", changed), Tampered);
    assert.throws(
      () => openDelivery(keys, "incoming/y", sealed),
      (e) => e instanceof WrongContext || e instanceof Tampered,
    );
  });
});

describe("IncomingMover", () => {
  let store: Store;
  let account: Account;
  let mover: IncomingMover;
  before(async () => {
    store = memoryStore();
    account = await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
    await account.createMailbox("Lists");
    mover = new IncomingMover(store, { intervalMs: 60_000, watchPollMs: 300 });
  });
  after(async () => {
    await mover.close();
    await account.close();
  });

  test("files queued mail into its mailbox (INBOX when the named one is missing) and empties the queue", async () => {
    // Queued before the mover runs, with no password: only the public key is used.
    await enqueueDelivery(
      store,
      {
        mailbox: "INBOX",
        internalDate: Date.UTC(2024, 0, 1),
        raw: enc("Subject: one\n\nbody 1\n"),
      },
      account.publicKey,
    );
    await enqueueDelivery(
      store,
      {
        mailbox: "Lists",
        internalDate: Date.UTC(2024, 0, 2),
        raw: enc("Subject: two\r\n\r\nbody 2\r\n"),
      },
      account.publicKey,
    );
    await enqueueDelivery(
      store,
      {
        mailbox: "Nowhere",
        internalDate: Date.UTC(2024, 0, 3),
        raw: enc("Subject: three\r\n\r\nbody 3\r\n"),
      },
      account.publicKey,
    );
    await mover.startWith(account);
    assert.ok(mover.running);
    const deadline = Date.now() + 5_000;
    while (mover.filed < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(mover.filed, 3);
    assert.deepEqual(await bodiesOf(account, "INBOX"), [
      "Subject: one\r\n\r\nbody 1\r\n",
      "Subject: three\r\n\r\nbody 3\r\n",
    ]);
    assert.deepEqual(await bodiesOf(account, "Lists"), ["Subject: two\r\n\r\nbody 2\r\n"]);
    assert.deepEqual((await store.blobs.list("incoming/")).keys, []);
    // Filed in either order: each message keeps its own internal date.
    const inbox = await account.mailbox("INBOX");
    const dates = await Promise.all(
      inbox.index.uids.map(
        async (uid) => (await account.messages.meta(inbox.index.byUid.get(uid)!.id)).internalDate,
      ),
    );
    assert.deepEqual(dates.sort(), [Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 3)]);
  });

  test("a delivery while it runs is filed at once (poke or watch row), not at the 60 s interval", async () => {
    const before = mover.filed;
    await enqueueDelivery(
      store,
      {
        mailbox: "INBOX",
        internalDate: Date.now(),
        raw: enc("Subject: poked\r\n\r\nx\r\n"),
      },
      account.publicKey,
    );
    mover.poke();
    const deadline = Date.now() + 5_000;
    while (mover.filed === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(mover.filed, before + 1);
  });

  test("a box that does not open stays in the queue and does not stop the others", async () => {
    await store.blobs.put("incoming/000000000001aaaaaaaaaaaaaaaa", enc("not a box"));
    const before = mover.filed;
    await enqueueDelivery(
      store,
      {
        mailbox: "INBOX",
        internalDate: Date.now(),
        raw: enc("Subject: after\r\n\r\nx\r\n"),
      },
      account.publicKey,
    );
    await mover.moveNow();
    assert.equal(mover.filed, before + 1);
    assert.deepEqual((await store.blobs.list("incoming/")).keys, ["incoming/000000000001aaaaaaaaaaaaaaaa"]);
  });
});

describe("MoverLease", () => {
  test("a second computer's mover waits while the first holds the lease, and takes it after release or expiry", async () => {
    const rows = memoryStore().rows;
    let now = 1_000_000;
    const key = randomKey();
    const first = new MoverLease(rows, key, () => now);
    const second = new MoverLease(rows, key, () => now);
    assert.equal(await first.take(), true);
    assert.equal(await second.take(), false);
    await first.release();
    assert.equal(await second.take(), true);
    assert.equal(await first.take(), false);
    now += 31_000; // the holder died without releasing
    assert.equal(await first.take(), true);
    assert.equal(await second.take(), false);
  });

  test("the lease row is sealed: the host reads no holder or expiry in it, and cannot forge one", async () => {
    const rows = memoryStore().rows;
    const now = 1_700_000_000_000;
    const key = randomKey();
    const mover = new MoverLease(rows, key, () => now);
    assert.equal(await mover.take(), true);
    const [value] = (await rows.read("incoming", "lock"))!.values;
    const text = Buffer.from(value!).toString("latin1");
    assert.ok(!/holder|until/.test(text), "no field name in clear");
    assert.ok(!text.includes(String(now + 30_000)), "no expiry in clear");
    assert.ok(isBucket(value!.length - AEAD_OVERHEAD), `${value!.length} bytes is a sealed bucket`);
    await mover.release();

    // What a host (or an older build) writes in clear, or seals under another key, is no lease.
    const forged = { holder: "0", until: now + 3_600_000 };
    await rows.insert("incoming", "lock", new TextEncoder().encode(JSON.stringify(forged)));
    assert.equal(await new MoverLease(rows, key, () => now).take(), true);
    const fresh = memoryStore().rows;
    assert.equal(await new MoverLease(fresh, randomKey(), () => now).take(), true);
    assert.equal(await new MoverLease(fresh, key, () => now).take(), true);
  });
});
