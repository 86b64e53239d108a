/**
 * Issue 12's attacks on delivery, each by a storage host with the powers of test/support/forgingHost.ts,
 * through the real deliver path (deliveryPublicKey + enqueueDelivery), unlock (AccountDirectory) and
 * mover. Each ends in a refusal with its own error, or in the `$Unverified` keyword, and nothing
 * legitimate is lost.
 */
import { after, afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rollbackCheck } from "../../src/cli/commands/doctor.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { newSenderKeys } from "../../src/crypto/senderBox.ts";
import { AccountDirectory } from "../../src/mail/accountDirectory.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import {
  adoptAccount,
  deliveryPublicKey,
  enqueueDelivery,
  homeSender,
  IncomingMover,
  MAX_SEALED_DELIVERY_BYTES,
  newIncomingKey,
  sealDelivery,
  UNVERIFIED_KEYWORD,
  type HomeDeliveryKeys,
} from "../../src/mail/incoming/index.ts";
import { FILED_RETENTION_MS, FiledDeliveries } from "../../src/mail/incoming/filedDeliveries.ts";
import { NotFound, RolledBack, Tampered } from "../../src/errors.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { timestampAt } from "../../src/sync/timestamp.ts";
import { MaliciousHost } from "../support/forgingHost.ts";
import { maliciousHost } from "../support/maliciousHost.ts";

/** Waits until `cond` holds, at most `ms`; the assertion after it says what was missing. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}
const PASSWORD = "incoming attack test password";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const mail = (subject: string) => ({
  mailbox: "INBOX",
  internalDate: Date.UTC(2024, 0, 1),
  raw: enc(`Subject: ${subject}\r\n\r\n${subject}\r\n`),
});

/** A home's key files, in memory. */
function memoryHome(): HomeDeliveryKeys & { publicKey?: Uint8Array; senderKey?: Uint8Array } {
  const home: HomeDeliveryKeys & { publicKey?: Uint8Array; senderKey?: Uint8Array } = {
    where: "the test home",
    readPublicKey: async () => home.publicKey,
    writePublicKey: async (k) => void (home.publicKey = k),
    readSenderKey: async () => home.senderKey,
    writeSenderKey: async (k) => void (home.senderKey = k),
  };
  return home;
}

/** An account set up as `init` does: the key pinned in `home` and its sender key registered. */
async function setUp(store: Store = memoryStore()) {
  const account = await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
  open.push(account);
  const home = memoryHome();
  await adoptAccount(home, account, { settingUp: true });
  return { store, account, home, host: new MaliciousHost(store) };
}

/** What `deliver` does without a server: the checked, pinned key, and the home's sender key. */
async function deliver(store: Store, home: HomeDeliveryKeys, subject: string): Promise<string> {
  const publicKey = await deliveryPublicKey(store, home);
  return enqueueDelivery(store, mail(subject), publicKey, await homeSender(home));
}

/** Subject -> flags of every message in INBOX. */
async function inbox(account: Account): Promise<Map<string, string[]>> {
  const mbx = await account.mailbox("INBOX");
  await mbx.sync();
  const out = new Map<string, string[]>();
  for (const uid of mbx.index.uids) {
    const entry = mbx.index.byUid.get(uid)!;
    const body = dec(await account.messages.body(await account.messages.meta(entry.id)));
    const subject = /^Subject: (.*)\r\n/.exec(body)![1]!;
    assert.ok(!out.has(subject), `"${subject}" is in INBOX twice`);
    out.set(subject, [...entry.flags]);
  }
  return out;
}

/** Movers and accounts of the running test, closed after it even when it fails. */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/**
 * A started mover. Its loop makes a first pass at once; a moveNow waits for that pass, so after
 * it everything queued has been handled: count with `filed` and `refused`.
 */
async function startMover(store: Store, account: Account, logs: string[] = []): Promise<IncomingMover> {
  const mover = new IncomingMover(store, { intervalMs: 600_000, log: (_l, m) => logs.push(m) });
  open.push(mover);
  await mover.startWith(account);
  return mover;
}

describe("a host that swaps the public key", () => {
  test("deliver refuses (Tampered) when keys/root names another key than the pinned one; nothing is queued", async () => {
    const { store, account, home, host } = await setUp();
    assert.deepEqual(await deliveryPublicKey(store, home), account.publicKey);
    await host.swapPublicKey();
    await assert.rejects(deliver(store, home, "to the host"), Tampered);
    assert.deepEqual((await store.blobs.list("incoming/")).keys, []);
  });

  test("a swapped root served only to deliver's reads is refused too", async () => {
    const { store, home, host } = await setUp();
    const view = host.servingRoot(await host.swappedRoot());
    await assert.rejects(deliver(view, home, "to the host"), /not the one this home pinned/);
    assert.deepEqual((await store.blobs.list("incoming/")).keys, []);
  });

  test("a home without a pin (older build) is told what to do; the next unlock pins and deliver works", async () => {
    const store = memoryStore();
    const account = await createAccount(store, { user: "a", password: PASSWORD, kdf: TEST_KDF });
    open.push(account);
    const home = memoryHome();
    await assert.rejects(
      deliver(store, home, "before the pin"),
      (e) => e instanceof NotFound && /status --password-stdin/.test(e.message),
    );
    const directory = new AccountDirectory(store, "a", {
      throttle: { baseDelayMs: 1 },
      onUnlock: (opened) => adoptAccount(home, opened),
    });
    await directory.login("a", PASSWORD);
    assert.deepEqual(home.publicKey, account.publicKey);
    await deliver(store, home, "after the pin");
    assert.equal((await store.blobs.list("incoming/")).keys.length, 1);
    await directory.close();
  });

  test("an unlock of a key root other than the pinned one (copied from an account with the same password) is refused", async () => {
    const { store, account, home } = await setUp();
    const other = memoryStore();
    await (await createAccount(other, { user: "a", password: PASSWORD, kdf: TEST_KDF })).close();
    await store.blobs.put("keys/root", (await other.blobs.get("keys/root"))!);
    const directory = new AccountDirectory(store, "a", {
      throttle: { baseDelayMs: 1 },
      onUnlock: (opened) => adoptAccount(home, opened),
    });
    await assert.rejects(directory.login("a", PASSWORD), /does not hold the public key this home pinned/);
    await assert.rejects(deliver(store, home, "to the other root"), Tampered);
    assert.deepEqual(home.publicKey, account.publicKey, "the pin is unchanged");
    await directory.close();
  });
});

describe("a host that replays deliveries", () => {
  test("a filed delivery put back is refused, deleted and not filed again, also by a mover started later", async () => {
    const { store, account, home, host } = await setUp();
    await deliver(store, home, "wire 10000 EUR");
    const [key] = await host.copyQueue();
    const logs: string[] = [];
    const mover = await startMover(store, account, logs);
    await mover.moveNow();
    assert.equal(mover.filed, 1);
    await host.putBack(key!);
    await mover.moveNow();
    assert.deepEqual([mover.filed, mover.refused], [1, 1]);
    assert.ok(logs.some((l) => l.includes(`incoming ${key} refused: it was filed before`)));
    assert.deepEqual((await store.blobs.list("incoming/")).keys, []);
    await mover.close(); // releases the lease for the next one

    await host.putBack(key!);
    const later = await startMover(store, account);
    await later.moveNow();
    assert.deepEqual([later.filed, later.refused], [0, 1]);
    assert.deepEqual([...(await inbox(account)).keys()], ["wire 10000 EUR"]);
  });

  test("a record of filed deliveries the host removed stops the mover; the queue stays as it is", async () => {
    const { store, account, home } = await setUp();
    const row = (await store.rows.read("incoming", "filed"))!;
    await store.rows.delete("incoming", "filed", row.token);
    await deliver(store, home, "kept queued");
    const logs: string[] = [];
    const mover = await startMover(store, account, logs);
    await assert.rejects(mover.moveNow(), /record of filed deliveries .* is missing/);
    assert.ok(
      logs.some((l) => /record of filed deliveries .* is missing/.test(l)),
      "the loop logs it too",
    );
    assert.equal((await store.blobs.list("incoming/")).keys.length, 1);
    assert.equal((await inbox(account)).size, 0);
  });

  test("filed ids older than the retention fold into the floor; concurrent records merge", async () => {
    const store = memoryStore();
    const key = new Uint8Array(32).fill(7);
    let now = Date.UTC(2024, 0, 1);
    const id = (ms: number, fill: string) => timestampAt(ms).slice(0, 12) + fill.repeat(16);
    const first = new FiledDeliveries(store.rows, key, () => now);
    await first.ensureExists();
    await first.refresh();
    const old = id(now, "1");
    await first.add(old);
    assert.equal(first.verdict(old), "filed");
    now += FILED_RETENTION_MS + 1;
    // Another computer files `sibling` from the same read as `first` files `recent`: two siblings.
    const elsewhere = memoryStore();
    const writer = new FiledDeliveries(elsewhere.rows, key, () => now);
    await writer.ensureExists();
    await writer.refresh();
    const sibling = id(now, "3");
    await writer.add(sibling);
    const sealedElsewhere = (await elsewhere.rows.read("incoming", "filed"))!.values[0]!;
    const before = (await store.rows.read("incoming", "filed"))!;
    const recent = id(now, "2");
    await first.add(recent);
    await store.rows.insert("incoming", "filed", sealedElsewhere, before.token);
    assert.equal((await store.rows.read("incoming", "filed"))!.values.length, 2);
    const reader = new FiledDeliveries(store.rows, key, () => now);
    await reader.refresh();
    assert.deepEqual(
      [
        reader.verdict(old),
        reader.verdict(recent),
        reader.verdict(sibling),
        reader.verdict(id(now + 1, "0")),
      ],
      ["older", "filed", "filed", "new"],
    );
  });

  test("a box put back from before the floor is left in place, not filed", async () => {
    const { store, account, home, host } = await setUp();
    await deliver(store, home, "old news");
    const [key] = await host.copyQueue();
    const mover = await startMover(store, account);
    await mover.moveNow();
    await mover.close();
    // A later filing, past the retention, folds the first one into the floor.
    const record = new FiledDeliveries(
      store.rows,
      account.subkey("incoming-filed"),
      () => Date.now() + FILED_RETENTION_MS + 60_000,
    );
    await record.refresh();
    await record.add(timestampAt(Date.now() + FILED_RETENTION_MS).slice(0, 12) + "0".repeat(16));
    await host.putBack(key!);
    const logs: string[] = [];
    const later = await startMover(store, account, logs);
    await later.moveNow();
    assert.equal(later.filed, 0);
    assert.ok(logs.some((l) => l.includes("older than the record")));
    assert.deepEqual((await store.blobs.list("incoming/")).keys, [key]);
    assert.deepEqual([...(await inbox(account)).keys()], ["old news"]);
  });
});

describe("a host that forges deliveries", () => {
  test("mail from an unregistered sender or anonymous (the version 1 format) is filed with $Unverified; this home's is not", async () => {
    const { store, account, home, host } = await setUp();
    await deliver(store, home, "from this home");
    await host.forge(mail("anonymous"));
    await host.forge(mail("from the host's key"), host.ownSender);
    const mover = await startMover(store, account);
    await mover.moveNow();
    assert.equal(mover.filed, 3);
    assert.deepEqual([...(await inbox(account)).entries()].sort(), [
      ["anonymous", [UNVERIFIED_KEYWORD]],
      ["from the host's key", [UNVERIFIED_KEYWORD]],
      ["from this home", []],
    ]);
  });

  test("a second computer's sender key, registered at its unlock, is verified too", async () => {
    const { store, account, home } = await setUp();
    const second = memoryHome();
    await adoptAccount(second, account);
    await deliver(store, second, "from the second computer");
    await deliver(store, home, "from the first");
    const mover = await startMover(store, account);
    await mover.moveNow();
    assert.deepEqual([...(await inbox(account)).values()], [[], []]);
  });

  test("a box naming a registered sender that did not make it is left in place, not filed", async () => {
    const { store, account, home } = await setUp();
    const registered = (await homeSender(home))!;
    const forger = newSenderKeys();
    const key = newIncomingKey();
    const posing = { publicKey: registered.publicKey, secretKey: forger.secretKey };
    await store.blobs.put(key, sealDelivery(account.publicKey, key, mail("posing"), posing));
    const logs: string[] = [];
    const mover = await startMover(store, account, logs);
    await mover.moveNow();
    assert.equal(mover.filed, 0);
    assert.ok(logs.some((l) => l.includes(`${key} left in place`) && l.includes("forged or changed")));
    assert.deepEqual((await store.blobs.list("incoming/")).keys, [key]);
  });
});

describe("the mover's memory bound", () => {
  /** The store, recording every incoming get and delete, and answering head with `headSize` when set. */
  function watched(store: Store, headSize?: number) {
    const calls: string[] = [];
    const real = store.blobs;
    const blobs = {
      ...real,
      put: real.put.bind(real),
      list: real.list.bind(real),
      copy: real.copy.bind(real),
      head: async (k: string) => {
        const h = await real.head(k);
        return h && headSize !== undefined && k.startsWith("incoming/") ? { size: headSize } : h;
      },
      get: (k: string, range?: { start: number; end?: number }) => {
        if (k.startsWith("incoming/"))
          calls.push(`get ${k} ${range ? `${range.start}-${range.end}` : "whole"}`);
        return real.get(k, range);
      },
      delete: (k: string) => {
        if (k.startsWith("incoming/")) calls.push(`delete ${k}`);
        return real.delete(k);
      },
    };
    return { store: { blobs, rows: store.rows, close: () => store.close() }, calls };
  }

  test("deliveries are read and filed one at a time: each is deleted before the next is read", async () => {
    const { store, account, home } = await setUp();
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push(await deliver(store, home, `message ${i}`));
    const { store: seen, calls } = watched(store);
    const mover = await startMover(seen, account);
    await mover.moveNow();
    assert.equal(mover.filed, 5);
    assert.deepEqual(
      calls,
      keys.sort().flatMap((k) => [`get ${k} 0-${MAX_SEALED_DELIVERY_BYTES}`, `delete ${k}`]),
    );
  });

  test(`a delivery over ${MAX_SEALED_DELIVERY_BYTES} bytes is never read; one whose size the host understates is cut at the limit and left in place`, async () => {
    const { store, account, home } = await setUp();
    const huge = newIncomingKey();
    await store.blobs.put(huge, new Uint8Array(MAX_SEALED_DELIVERY_BYTES + 1));
    const fine = await deliver(store, home, "normal size");
    const { store: seen, calls } = watched(store);
    const mover = await startMover(seen, account);
    await mover.moveNow();
    assert.equal(mover.filed, 1);
    assert.ok(!calls.some((c) => c.startsWith(`get ${huge}`)), "the big one was not read");
    assert.deepEqual(calls, [`get ${fine} 0-${MAX_SEALED_DELIVERY_BYTES}`, `delete ${fine}`]);
    await mover.close();

    const lying = watched(store, 1000);
    const logs: string[] = [];
    const again = await startMover(lying.store, account, logs);
    await again.moveNow();
    assert.equal(again.filed, 0);
    assert.deepEqual(lying.calls, [`get ${huge} 0-${MAX_SEALED_DELIVERY_BYTES}`]);
    assert.ok(logs.some((l) => l.includes(`${huge} left in place`) && l.includes("not read")));
    assert.deepEqual((await store.blobs.list("incoming/")).keys, [huge]);
  });
});

describe("a host that rolls the record of filed deliveries back", () => {
  const folders: string[] = [];
  after(async () => {
    for (const dir of folders) await rm(dir, { recursive: true, force: true });
  });

  /** An account with marks on disk, over a host that can also serve old rows; closed by the caller. */
  async function withMarks() {
    const marksDir = await mkdtemp(join(tmpdir(), "agl-filed-marks-"));
    folders.push(marksDir);
    const rollback = maliciousHost(memoryStore());
    const store = rollback.store;
    const lines: string[] = [];
    const log = (level: string, message: string) => void lines.push(`${level} ${message}`);
    const account = await createAccount(store, {
      user: "a",
      password: PASSWORD,
      kdf: TEST_KDF,
      marksDir,
      log,
    });
    const home = memoryHome();
    await adoptAccount(home, account, { settingUp: true });
    return { marksDir, rollback, store, lines, log, account, home, forging: new MaliciousHost(store) };
  }

  test("a mover started after a restart is served an older record and a filed delivery put back: RolledBack, nothing filed, doctor reports it", async () => {
    const { marksDir, rollback, store, lines, log, account, home, forging } = await withMarks();
    const older = await store.rows.read("incoming", "filed");
    await deliver(store, home, "wire 10000 EUR");
    const [key] = await forging.copyQueue();
    const first = await startMover(store, account);
    await first.moveNow();
    assert.equal(first.filed, 1);
    await first.close();
    await account.close();

    // The host serves the record as it was before that filing, and puts the delivery back.
    rollback.pinRow("incoming", "filed", older);
    await forging.putBack(key!);
    const reopened = await openAccount(store, PASSWORD, { marksDir, log });
    open.push(reopened);
    const logs: string[] = [];
    const later = await startMover(store, reopened, logs);
    const inserts = rollback.inserts.length;
    await assert.rejects(later.moveNow(), (err: Error) => {
      assert.ok(err instanceof RolledBack);
      assert.match(
        err.message,
        /storage went back at incoming\/filed .*1 filed delivery id this computer saw is missing/,
      );
      return true;
    });
    assert.equal(later.filed, 0);
    assert.deepEqual(
      rollback.inserts.slice(inserts).filter((w) => w.pk === "incoming" && w.sk === "filed"),
      [],
      "nothing is written over it (the mover's lease is its only write)",
    );
    assert.deepEqual((await store.blobs.list("incoming/")).keys, [key], "the put-back box is left as it is");
    assert.ok(
      logs.some((l) => /incoming mail mover: storage went back at incoming\/filed/.test(l)),
      "the loop logs it",
    );
    assert.match(lines.join("\n"), /^error storage went back at incoming\/filed/m);
    const check = await rollbackCheck(marksDir);
    assert.equal(check.status, "fail");
    assert.match(check.detail, /incoming\/filed/);
    assert.deepEqual([...(await inbox(reopened)).keys()], ["wire 10000 EUR"]);

    // The host serves the real record again: the replay is refused as one, and the alarm is gone.
    rollback.unpinRow("incoming", "filed");
    await later.moveNow();
    assert.deepEqual([later.filed, later.refused], [0, 1]);
    assert.equal((await rollbackCheck(marksDir)).status, "pass");
    assert.deepEqual([...(await inbox(reopened)).keys()], ["wire 10000 EUR"]);
  });

  test("a mover that keeps being refused says so once, not at every pass, and says when it files again", async () => {
    const { rollback, store, lines, account, home } = await withMarks();
    const older = await store.rows.read("incoming", "filed");
    await deliver(store, home, "first");
    const first = await startMover(store, account);
    await first.moveNow();
    await first.close();
    rollback.pinRow("incoming", "filed", older);
    const logs: string[] = [];
    const mover = new IncomingMover(store, { intervalMs: 20, log: (_l, m) => logs.push(m) });
    open.push(mover);
    await mover.startWith(account);
    const refusals = (all: string[]) => all.filter((l) => l.includes("storage went back at incoming/filed"));
    // Bounded waits, not fixed sleeps: on a loaded machine a 20 ms pass may take far longer.
    await until(() => refusals(logs).length > 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // many more passes, all refused
    assert.equal(refusals(logs).length, 1, logs.join("\n"));
    assert.equal(refusals(lines).length, 1, lines.join("\n"));
    rollback.unpinRow("incoming", "filed");
    await until(() => logs.includes("incoming mail mover: filing again"), 5_000);
    assert.ok(logs.includes("incoming mail mover: filing again"), logs.join("\n"));
  });

  test("a record the host removed after this computer saw it is a rollback too, and the next unlock does not start an empty one over it", async () => {
    const { marksDir, rollback, store, log, account, home } = await withMarks();
    await deliver(store, home, "first");
    const mover = await startMover(store, account);
    await mover.moveNow();
    await mover.close();
    await account.close();
    await rollback.dropRow("incoming", "filed");

    const reopened = await openAccount(store, PASSWORD, { marksDir, log });
    open.push(reopened);
    await adoptAccount(memoryHome(), reopened); // a home without a pin would start a record
    assert.equal((await store.rows.read("incoming", "filed"))?.values.length ?? 0, 0);
    const later = await startMover(store, reopened);
    await assert.rejects(
      later.moveNow(),
      (err: Error) => err instanceof RolledBack && /the row is gone/.test(err.message),
    );
  });
});
