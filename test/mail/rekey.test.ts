import { before, test } from "node:test";
import assert from "node:assert/strict";
import { parseKeyRoot, unlockKeyRoot } from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { enqueueDelivery } from "../../src/mail/incoming/index.ts";
import {
  adoptAccount,
  type HomeDeliveryKeys,
  type KeyEpochMark,
} from "../../src/mail/incoming/deliveryKeys.ts";
import { RolledBack } from "../../src/errors.ts";
import { beginRekey } from "../../src/mail/rekey/rekeyRoot.ts";
import { rekeyPending, ResealJob } from "../../src/mail/rekey/resealJob.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { oldKeyScan } from "../support/oldKeyScan.ts";

before(() => loadSodium());

const PW = "rekey test password";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Every message of `name` as "body|flags", sorted. */
async function contents(account: Account, name: string): Promise<string[]> {
  const mbx = await account.mailbox(name);
  await mbx.sync();
  const out: string[] = [];
  for (const uid of mbx.index.uids) {
    const entry = mbx.index.byUid.get(uid)!;
    const meta = (await account.messages.getMeta([entry.id])).get(entry.id)!;
    out.push(`${dec(await account.messages.body(meta))}|${[...entry.flags].sort().join(" ")}`);
  }
  return out.sort();
}

async function mailboxIds(account: Account): Promise<string[]> {
  return (await account.listMailboxes()).mailboxes.map((m) => m.id);
}

async function filledAccount(store: Store): Promise<Account> {
  const account = await createAccount(store, { user: "u", password: PW, kdf: TEST_KDF });
  await account.createMailbox("Work");
  const inbox = await account.mailbox("INBOX");
  for (let i = 0; i < 5; i++)
    await inbox.append(enc(`Subject: m${i}\r\n\r\nbody ${i}\r\n`), i % 2 ? ["\\Seen"] : [], 1000 + i);
  const work = await account.mailbox("Work");
  for (let i = 0; i < 3; i++)
    await work.append(enc(`Subject: w${i}\r\n\r\nwork ${i}\r\n`), ["$Label1"], 2000 + i);
  await work.setFlags([work.index.byUid.get(work.index.uids[0]!)!.id], "add", ["\\Flagged"]);
  return account;
}

test("after a rekey and its job the old keys open nothing in storage; mail, flags and mailboxes are intact", async () => {
  const store = memoryStore();
  const account = await filledAccount(store);
  const oldRoot = (await store.blobs.get("keys/root"))!;
  await enqueueDelivery(
    store,
    { mailbox: "Work", internalDate: 3000, raw: enc("Subject: d\r\n\r\ndelivered\r\n") },
    account.publicKey,
  );
  const before = { inbox: await contents(account, "INBOX"), work: await contents(account, "Work") };
  const old = await unlockKeyRoot(parseKeyRoot(oldRoot), PW);
  const ids = await mailboxIds(account);
  const scanBefore = await oldKeyScan(store, old, ids);
  assert.ok(
    scanBefore.opened.length >= 15,
    `the scan opens what the old keys sealed (${scanBefore.opened.length})`,
  );

  await beginRekey(account, PW, { kdf: TEST_KDF });
  assert.ok(rekeyPending(account));
  const inbox = await account.mailbox("INBOX");
  const { mailId } = await account.messages.add(enc("Subject: after\r\n\r\nafter the rekey\r\n"), 4000);
  await inbox.addExisting([{ mailId, flags: ["\\Answered"] }]);
  const midway = await oldKeyScan(store, old, ids);
  assert.ok(
    !midway.opened.includes(`meta/${mailId}`),
    "what is written after the rekey is sealed under the new key",
  );
  assert.ok(midway.opened.length > 0, "the job has not run yet");

  const progress: string[] = [];
  const outcome = await new ResealJob(account, { onProgress: (p) => progress.push(p.phase) }).run();
  assert.deepEqual(outcome.waitingDeliveries, 0);
  assert.equal(outcome.finished, true);
  assert.ok(progress.includes("meta") && progress.includes("indexes") && progress.at(-1) === "done");
  assert.ok(!rekeyPending(account));

  const scanAfter = await oldKeyScan(store, old, ids);
  assert.deepEqual(scanAfter.opened, []);
  assert.ok(scanAfter.checked >= scanBefore.checked - 1, `as many objects looked at (${scanAfter.checked})`);

  const reopened = await openAccount(store, PW);
  assert.equal(reopened.epochs.epoch, 1);
  assert.equal(reopened.epochs.previous.length, 0);
  assert.deepEqual(
    await contents(reopened, "INBOX"),
    [...before.inbox, "Subject: after\r\n\r\nafter the rekey\r\n|\\Answered"].sort(),
  );
  assert.deepEqual(
    await contents(reopened, "Work"),
    [...before.work, "Subject: d\r\n\r\ndelivered\r\n|$Unverified"].sort(),
  );
  assert.deepEqual(
    (await reopened.listMailboxes()).mailboxes.map((m) => m.name).sort(),
    (await account.listMailboxes()).mailboxes.map((m) => m.name).sort(),
  );
  await reopened.close();
  await account.close();
});

test("a job stopped part-way is finished by the next run, after a restart", async () => {
  const store = memoryStore();
  const account = await filledAccount(store);
  const old = await unlockKeyRoot(parseKeyRoot((await store.blobs.get("keys/root"))!), PW);
  const ids = await mailboxIds(account);
  const before = await contents(account, "Work");
  await beginRekey(account, PW, { kdf: TEST_KDF });
  let writes = 0;
  const stop = new Error("killed");
  const killed = new ResealJob(account, {
    afterWrite: () => {
      if (++writes === 4) throw stop;
    },
  });
  await assert.rejects(killed.run(), stop);
  await account.close();
  assert.ok((await oldKeyScan(store, old, ids)).opened.length > 0, "stopped with work left");

  const restarted = await openAccount(store, PW);
  assert.ok(rekeyPending(restarted), "the key root still carries the old epoch");
  const outcome = await new ResealJob(restarted).run();
  assert.equal(outcome.finished, true);
  assert.deepEqual((await oldKeyScan(store, old, ids)).opened, []);
  assert.deepEqual(await contents(restarted, "Work"), before);
  await restarted.close();
});

/** A home's key files, in memory. */
function memoryHome(withEpochMark: boolean): HomeDeliveryKeys {
  let publicKey: Uint8Array | undefined;
  let senderKey: Uint8Array | undefined;
  let mark: KeyEpochMark | undefined;
  return {
    where: "memory home",
    readPublicKey: async () => publicKey,
    writePublicKey: async (k) => void (publicKey = Uint8Array.from(k)),
    readSenderKey: async () => senderKey,
    writeSenderKey: async (k) => void (senderKey = Uint8Array.from(k)),
    ...(withEpochMark
      ? { readKeyEpoch: async () => mark, writeKeyEpoch: async (m: KeyEpochMark) => void (mark = { ...m }) }
      : {}),
  };
}

test("a key root put back from before the job finished is refused by a home that saw it finish", async () => {
  const store = memoryStore();
  const account = await filledAccount(store);
  const home = memoryHome(true);
  const unmarked = memoryHome(false);
  await adoptAccount(home, account, { settingUp: true });
  await adoptAccount(unmarked, account, { settingUp: true });
  await beginRekey(account, PW, { kdf: TEST_KDF });
  await adoptAccount(home, account);
  await adoptAccount(unmarked, account);
  assert.deepEqual(await home.readPublicKey(), account.publicKey, "the home re-pinned the new key");
  const midJobRoot = (await store.blobs.get("keys/root"))!;
  assert.equal((await new ResealJob(account).run()).finished, true);
  await adoptAccount(home, account);
  await account.close();

  // The host puts back the root that still carries the old epoch's keys.
  await store.blobs.put("keys/root", midJobRoot);
  const reopened = await openAccount(store, PW);
  assert.ok(rekeyPending(reopened), "that root would reopen the job and the old key");
  await assert.rejects(adoptAccount(home, reopened), RolledBack);
  await adoptAccount(unmarked, reopened); // without the mark, nothing tells
  await reopened.close();
});
