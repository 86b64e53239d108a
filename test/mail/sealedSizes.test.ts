/**
 * Issue 12, "what the host learns": the size of a sealed row no longer tells what it holds. An op
 * row of one message has one size whatever the op; meta rows of headers hundreds of bytes apart
 * look alike; and an account whose objects were all sealed before padding (sealed version 1) opens
 * with all its mail.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { open, seal, type SealContext, type SealKey } from "../../src/crypto/aead.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";

const PASSWORD = "sealed sizes test password";
const enc = (s: string) => new TextEncoder().encode(s);
const mail = (subject: string, note = "") =>
  enc(`Subject: ${subject}\r\nFrom: a@example.org\r\n${note && `X-Note: ${note}\r\n`}\r\nhello\r\n`);

async function opRowSizes(store: Store, mailboxId: string): Promise<number[]> {
  const { items } = await store.rows.readRange(`index/${mailboxId}`, {});
  return items.filter((r) => r.sk !== "watch").map((r) => r.values[0]!.length);
}

async function inboxId(account: Account): Promise<string> {
  return (await account.listMailboxes()).mailboxes.find((m) => m.name === "INBOX")!.id;
}

test("an add, a flag change and an expunge of one message write op rows of one size", async () => {
  const store = memoryStore();
  const account = await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await account.mailbox("INBOX");
  const { mailId } = await inbox.append(mail("one"), ["\\Seen"], Date.now());
  await inbox.setFlags([mailId], "add", ["\\Flagged", "$Important"]);
  await inbox.expunge([mailId]);
  const sizes = await opRowSizes(store, await inboxId(account));
  assert.equal(sizes.length, 3);
  assert.equal(new Set(sizes).size, 1, `op rows of ${sizes.join(", ")} bytes`);
  await account.close();
});

test("meta rows of messages whose headers differ by 600 bytes have one size", async () => {
  const store = memoryStore();
  const account = await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await account.mailbox("INBOX");
  // 1.15 KB and 1.75 KB of meta before padding: the header block is in it once, uncompressed, and
  // the MIME tree (compressed, meta encoding 3) does not hold X-Note.
  const short = await inbox.append(mail("hi", "x".repeat(600)), [], Date.now());
  const long = await inbox.append(mail("hi", "x".repeat(1200)), [], Date.now());
  const size = async (id: string) => (await store.rows.read("meta", id))!.values[0]!.length;
  assert.equal(await size(short.mailId), await size(long.mailId));
  await account.close();
});

/** Rewrites every sealed row of the account as the build before padding sealed it (version 1). */
async function sealAsBeforePadding(store: Store, account: Account): Promise<number> {
  let rewritten = 0;
  const reseal = async (pk: string, sk: string, key: SealKey, ctx: SealContext) => {
    const row = (await store.rows.read(pk, sk))!;
    const plain = open(key, row.values[0]!, ctx);
    await store.rows.insert(pk, sk, seal(key, plain, ctx, { exact: true }), row.token);
    rewritten++;
  };
  const metaKey = account.subkey("message-meta");
  for (const row of (await store.rows.readRange("meta", {})).items)
    await reseal("meta", row.sk, metaKey, { purpose: "message-meta", path: `meta/${row.sk}` });
  const indexKey = account.subkey("uid-index");
  for (const { id } of (await account.listMailboxes()).mailboxes)
    for (const row of (await store.rows.readRange(`index/${id}`, {})).items)
      if (row.sk !== "watch")
        await reseal(`index/${id}`, row.sk, indexKey, { purpose: "bayou-op", path: `index/${id}/${row.sk}` });
  await reseal("mailboxes", "list", account.subkey("mailbox-list"), {
    purpose: "mailbox-list",
    path: "mailboxes/list",
  });
  return rewritten;
}

test("an account whose rows were all sealed before padding opens with its mailboxes, flags and mail", async () => {
  const store = memoryStore();
  const account = await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
  await account.createMailbox("Old/Projects");
  const inbox = await account.mailbox("INBOX");
  const first = await inbox.append(mail("first"), ["\\Seen"], Date.UTC(2020, 0, 1));
  const second = await inbox.append(mail("second"), [], Date.UTC(2020, 0, 2));
  await inbox.setFlags([second.mailId], "add", ["\\Flagged"]);
  await inbox.copyTo(await account.mailbox("Old/Projects"), [first.mailId]);
  const rewritten = await sealAsBeforePadding(store, account);
  await account.close();
  assert.ok(rewritten >= 8, `${rewritten} rows rewritten`);
  const { items } = await store.rows.readRange("meta", {});
  assert.ok(
    items.every((r) => r.values[0]![0] === 1),
    "every meta row is of version 1 now",
  );

  const reopened = await openAccount(store, PASSWORD);
  const names = (await reopened.listMailboxes()).mailboxes.map((m) => m.name).sort();
  assert.ok(names.includes("Old/Projects"), names.join(", "));
  const box = await reopened.mailbox("INBOX");
  const flags = box.index.uids.map((uid) => [...box.index.byUid.get(uid)!.flags].sort());
  assert.deepEqual(flags, [["\\Seen"], ["\\Flagged"]]);
  const meta = await reopened.messages.meta(second.mailId);
  assert.equal(meta.internalDate, Date.UTC(2020, 0, 2));
  assert.match(new TextDecoder().decode(await reopened.messages.body(meta)), /Subject: second/);
  assert.equal((await reopened.mailbox("Old/Projects")).index.uids.length, 1);
  // A change rewrites the list padded again.
  await reopened.createMailbox("New");
  assert.equal((await store.rows.read("mailboxes", "list"))!.values[0]![0], 2);
  await reopened.close();
});
