/**
 * Another computer on the same storage while this one rekeys: its unlocked account learns of the
 * new key epoch at its next read of a re-sealed object, writes nothing more under the old one, and
 * its next login unlocks the new key root (same password) and carries on.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { sealedEpoch } from "../../src/crypto/aead.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { Rekeyed } from "../../src/errors.ts";
import { createAccount } from "../../src/mail/account.ts";
import { AccountDirectory } from "../../src/mail/accountDirectory.ts";
import { beginRekey } from "../../src/mail/rekey/rekeyRoot.ts";
import { ResealJob } from "../../src/mail/rekey/resealJob.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";

before(() => loadSodium());

const PW = "other computer password";
const enc = (s: string) => new TextEncoder().encode(s);

test("a second computer stops writing under the old key, and works again after its next login", async () => {
  const store = memoryStore();
  const here = await createAccount(store, { user: "alice", password: PW, kdf: TEST_KDF });
  await (await here.mailbox("INBOX")).append(enc("Subject: one\r\n\r\n1\r\n"), [], 1);

  const there = new AccountDirectory(store, "alice", { throttle: { baseDelayMs: 1 } });
  const stale = await there.login("alice", PW);
  const staleInbox = await stale.mailbox("INBOX");
  assert.equal(staleInbox.index.uids.length, 1);

  await beginRekey(here, PW, { kdf: TEST_KDF });
  const hereInbox = await here.mailbox("INBOX");
  await hereInbox.append(enc("Subject: two\r\n\r\n2\r\n"), [], 2);
  assert.equal((await new ResealJob(here).run()).finished, true);
  // The append is announced to other computers in the background (the watch row): let it out.
  await hereInbox.flushSignals();

  await assert.rejects(staleInbox.sync(), Rekeyed);
  await assert.rejects(staleInbox.append(enc("Subject: stale\r\n\r\nx\r\n"), [], 3), Rekeyed);
  for (const row of (await store.rows.readRange("meta", {})).items)
    assert.equal(sealedEpoch(row.values[0]!), 1, "nothing was written under the old key");

  const fresh = await there.login("alice", PW);
  assert.notEqual(fresh, stale, "the login unlocked the new key root");
  assert.equal(fresh.epochs.epoch, 1);
  const inbox = await fresh.mailbox("INBOX");
  assert.equal(inbox.index.uids.length, 2);
  await inbox.append(enc("Subject: three\r\n\r\n3\r\n"), [], 3);
  assert.equal(await there.login("alice", PW), fresh, "later logins share the new account");
  await there.close();
  await stale.close();
  await here.close();
});
