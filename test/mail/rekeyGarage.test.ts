/**
 * A rekey on Garage (S3 + K2V), with a second computer on the same bucket: the job re-seals
 * through K2V's causality tokens; afterwards the old keys open nothing the bucket holds, and the
 * second computer, refused at its next read, works again after it logs in.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseKeyRoot, unlockKeyRoot } from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { Rekeyed } from "../../src/errors.ts";
import { createAccount } from "../../src/mail/account.ts";
import { AccountDirectory } from "../../src/mail/accountDirectory.ts";
import { enqueueDelivery } from "../../src/mail/incoming/index.ts";
import { beginRekey } from "../../src/mail/rekey/rekeyRoot.ts";
import { ResealJob } from "../../src/mail/rekey/resealJob.ts";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import type { Store } from "../../src/storage/types.ts";
import { garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";
import { oldKeyScan } from "../support/oldKeyScan.ts";
import { skipUnless } from "../support/peers.ts";

const PW = "rekey on garage password";
const enc = (s: string) => new TextEncoder().encode(s);
const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");

describe("passwd rekey on Garage, with a second computer on the bucket", { skip }, () => {
  let peer: GaragePeer;
  const stores: Store[] = [];
  const open = () => {
    const store = openGarageStore(peer, {
      accessKeyId: peer.accessKeyId,
      secretAccessKey: peer.secretAccessKey,
    });
    stores.push(store);
    return store;
  };
  before(async () => {
    await loadSodium();
    peer = await startGarage();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await peer?.stop();
  });

  test(
    "the job re-seals everything; the old keys open nothing; the other computer logs in again",
    { timeout: 180_000 },
    async () => {
      const storeA = open();
      const storeB = open();
      const here = await createAccount(storeA, { user: "alice", password: PW, kdf: TEST_KDF });
      await here.createMailbox("Work");
      const inbox = await here.mailbox("INBOX");
      for (let i = 0; i < 20; i++)
        await inbox.append(enc(`Subject: m${i}\r\n\r\n${i}\r\n`), i % 3 ? [] : ["\\Seen"], 1000 + i);
      await enqueueDelivery(
        storeA,
        { mailbox: "Work", internalDate: 5, raw: enc("Subject: q\r\n\r\nqueued\r\n") },
        here.publicKey,
      );
      const old = await unlockKeyRoot(parseKeyRoot((await storeA.blobs.get("keys/root"))!), PW);
      const ids = (await here.listMailboxes()).mailboxes.map((m) => m.id);
      assert.ok((await oldKeyScan(storeA, old, ids)).opened.length > 20);

      const there = new AccountDirectory(storeB, "alice", { throttle: { baseDelayMs: 1 } });
      const staleInbox = await (await there.login("alice", PW)).mailbox("INBOX");
      const seenBefore = [...staleInbox.index.uids].map((u) =>
        [...staleInbox.index.byUid.get(u)!.flags].join(),
      );

      await beginRekey(here, PW, { kdf: TEST_KDF });
      await inbox.append(enc("Subject: after\r\n\r\nafter\r\n"), [], 3000);
      const outcome = await new ResealJob(here).run();
      assert.equal(outcome.finished, true);
      const scan = await oldKeyScan(storeB, old, ids);
      assert.deepEqual(scan.opened, []);
      assert.ok(scan.checked > 20);

      await assert.rejects(staleInbox.sync(), Rekeyed);
      const fresh = await there.login("alice", PW);
      const freshInbox = await fresh.mailbox("INBOX");
      assert.equal(freshInbox.index.uids.length, 21);
      assert.deepEqual(
        freshInbox.index.uids.slice(0, 20).map((u) => [...freshInbox.index.byUid.get(u)!.flags].join()),
        seenBefore,
      );
      assert.equal((await fresh.mailbox("Work")).index.uids.length, 1, "the queued delivery was filed");
      await freshInbox.append(enc("Subject: there\r\n\r\nfrom the other computer\r\n"), [], 4000);
      // The watch row tells other computers after the APPEND is answered ("Writes: one round trip").
      await freshInbox.flushSignals();
      await inbox.sync();
      assert.equal(inbox.index.uids.length, 22);
      await there.close();
      await here.close();
    },
  );
});
