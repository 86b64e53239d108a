/**
 * A second computer's first LOGIN, LIST and SELECT wait on as few storage round trips as their
 * checks allow (docs/architecture.md, "The read path on a remote store"): the list is read beside
 * the key root, INBOX opens right after the unlock (before the client asks), a mailbox's first sync
 * goes beside the list's read, and so does the sync of a mailbox selected again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAccount, openAccount } from "../../../src/mail/account.ts";
import { TEST_KDF } from "../../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../../src/storage/memoryStore.ts";
import type { Store } from "../../../src/storage/types.ts";
import { SenderRegistry, SENDERS_ROW, SENDERS_SUBKEY } from "../../../src/mail/incoming/senderRegistry.ts";
import { sampleMessage } from "../../mail/mailFixtures.ts";
import { startTestServer } from "../../support/testServer.ts";
import { RawImap } from "../../support/rawImap.ts";
import { aroundStoreCalls } from "../../support/storeCalls.ts";

/** Every call held `ms`; `trips` counts the calls that start while none is in flight. */
function tripCounting(inner: Store, ms: number) {
  const seen = { calls: [] as string[], trips: 0, inFlight: 0 };
  const store = aroundStoreCalls(inner, async (layer, prop, args, call) => {
    if (prop === "poll") return call();
    seen.calls.push(`${layer}.${prop} ${typeof args[0] === "string" ? args[0] : ""}`);
    if (seen.inFlight++ === 0) seen.trips++;
    try {
      await new Promise((r) => setTimeout(r, ms));
      return await call();
    } finally {
      seen.inFlight--;
    }
  });
  return { store, seen };
}

/** Resolves once no call has been in flight for `quietMs` (bounded: 5 s). */
async function quiet(seen: { inFlight: number }, quietMs = 100): Promise<void> {
  const deadline = performance.now() + 5_000;
  let since = performance.now();
  while (performance.now() - since < quietMs && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    if (seen.inFlight > 0) since = performance.now();
  }
}

test("a second computer's LIST after LOGIN makes no round trip, its INBOX opens at login, a SELECT again makes one", async () => {
  const raw = memoryStore();
  const password = "correct horse battery staple";
  await (await createAccount(raw, { user: "alice", password, kdf: TEST_KDF })).close();
  const first = await openAccount(raw, password, {});
  const inbox = await first.mailbox("INBOX");
  for (let i = 0; i < 5; i++) await inbox.append(sampleMessage(i), [], Date.now());
  await inbox.flushSignals();
  await first.close();

  const { store, seen } = tripCounting(raw, 30);
  const server = await startTestServer({ store, joinExisting: true });
  try {
    const client = await RawImap.connect(server.port);
    await client.readLine();
    const step = async (command: string) => {
      const [calls, trips] = [seen.calls.length, seen.trips];
      const lines = await client.command(command);
      assert.match(lines.at(-1)!, /^\S+ OK/, command);
      return { calls: seen.calls.slice(calls), trips: seen.trips - trips, lines };
    };
    const login = await step(`LOGIN alice "${password}"`);
    assert.deepEqual(login.calls.slice(0, 2).sort(), ["blobs.get keys/root", "rows.read mailboxes"]);
    // What follows the unlock is INBOX's opening (its watch row, and beside it the checkpoints'
    // listing of a first sync), which LOGIN does not await.
    assert.deepEqual(
      login.calls
        .slice(2, 4)
        .map((c) => c.replace(/index\/\w+/, "index/ID"))
        .sort(),
      ["blobs.list index/ID/checkpoint/", "rows.read index/ID"],
      login.calls.join(", "),
    );
    // A client that takes its time before LIST and SELECT (Thunderbird asks more): INBOX is open.
    await quiet(seen);
    const list = await step('LIST "" "*"');
    assert.deepEqual(list.calls, [], "the list read at login answers the LIST");
    assert.ok(list.lines.some((l) => l.includes('"INBOX"') || l.endsWith(" INBOX")));
    const select = await step("SELECT INBOX");
    assert.ok(select.lines.includes("* 5 EXISTS"));
    // Only the fresh list, which the SELECT checks the name against: the opening is done.
    assert.deepEqual(select.calls, ["rows.read mailboxes"]);
    assert.equal(select.trips, 1);
    // A mailbox not opened ahead: the list and its watch side by side, then the op rows, then
    // the checkpoints' listing; no second sync of the mailbox just opened.
    const drafts = await step("SELECT Drafts");
    assert.equal(drafts.trips, 3, drafts.calls.join(", "));
    assert.equal(drafts.calls.filter((c) => c === "rows.read mailboxes").length, 1);
    // Selected again: the list and the watch row side by side, nothing else.
    const again = await step("SELECT INBOX");
    assert.ok(again.lines.includes("* 5 EXISTS"));
    assert.equal(again.trips, 1, again.calls.join(", "));
    assert.deepEqual(again.calls.map((c) => c.replace(/index\/\w+/, "index/ID")).sort(), [
      "rows.read index/ID",
      "rows.read mailboxes",
    ]);
    await client.command("LOGOUT").catch(() => undefined);
  } finally {
    await server.close();
  }
});

test("a mailbox deleted on another computer after this one's LIST is not selected; its new namesake is", async () => {
  const store = memoryStore();
  const one = await startTestServer({ store });
  const two = await startTestServer({ store, joinExisting: true });
  try {
    const a = await RawImap.connect(one.port);
    const b = await RawImap.connect(two.port);
    await a.readLine();
    await b.readLine();
    await a.command(`LOGIN ${one.user} "${one.password}"`);
    await b.command(`LOGIN ${two.user} "${two.password}"`);
    await b.command('LIST "" "*"'); // may be the read made at login; any later one is fresh
    await a.command("CREATE Shared");
    assert.ok((await b.command('LIST "" "*"')).some((l) => l.includes("Shared")));
    await a.command("DELETE Shared");
    // b's last list names Shared: its early sync starts, and the fresh list refuses it.
    assert.match((await b.command("SELECT Shared")).at(-1)!, /NO \[NONEXISTENT\]/);
    await a.command("CREATE Shared");
    await a.command("SELECT Shared");
    await a.command("APPEND Shared {4+}\r\nhi\r\n");
    const selected = await b.command("SELECT Shared");
    assert.match(selected.at(-1)!, /OK/);
    assert.ok(selected.includes("* 1 EXISTS"), selected.join("\n"));
    a.close();
    b.close();
  } finally {
    await two.close();
    await one.close();
  }
});

test("rows named by readAtLogin are read beside the key root, handed out once; the sender registry takes its read", async () => {
  const raw = memoryStore();
  const password = "correct horse battery staple";
  await (await createAccount(raw, { user: "alice", password, kdf: TEST_KDF })).close();
  const { store, seen } = tripCounting(raw, 30);
  const account = await openAccount(store, password, { readAtLogin: [SENDERS_ROW] });
  try {
    assert.deepEqual(seen.calls.sort(), ["blobs.get keys/root", "rows.read incoming", "rows.read mailboxes"]);
    assert.equal(seen.trips, 1, "the three reads go side by side");
    const started = account.takeLoginRead(SENDERS_ROW.pk, SENDERS_ROW.sk);
    assert.ok(started);
    assert.equal(account.takeLoginRead(SENDERS_ROW.pk, SENDERS_ROW.sk), undefined, "handed out once");
    const registry = new SenderRegistry(store.rows, account.subkey(SENDERS_SUBKEY));
    const before = seen.calls.length;
    await registry.register(new Uint8Array(32).fill(7), started);
    assert.deepEqual(seen.calls.slice(before), ["rows.insert incoming"], "no read of its own");
    assert.deepEqual([...(await registry.load())], ["07".repeat(32)]);
  } finally {
    await account.close();
  }
});
