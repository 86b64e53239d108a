/**
 * Issue 11: on a store whose rows take large values (Garage's K2V; here the memory store told so),
 * a small body is row `body`/<id>, written in the APPEND's one row batch, and everything that
 * touches bodies finds it there; a large body stays a blob, and bodies stored as blobs before keep
 * reading. Issue 12's defences hold for rows as for blobs: a changed, swapped or dropped body row
 * is a clear error, and a value the host adds beside it is passed over.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { planAccountRemoval, removeAccountData } from "../../src/mail/accountRemoval.ts";
import { BODY_ROW_PK, CACHEABLE, META_PK } from "../../src/mail/messageLayout.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { NotFound, Tampered, WrongContext } from "../../src/errors.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "body rows in a batch";
const LARGE_ROWS = 80 * 1024;
/** ~100 kB of body: sealed past 64 KiB, so a blob. */
const LARGE = { bodyLines: 1400 };

/** A store that counts the writes of each kind. */
function counted(inner: Store): Store & { puts: number; batches: number; rowsWritten: string[] } {
  const out = {
    ...inner,
    puts: 0,
    batches: 0,
    rowsWritten: [] as string[],
    blobs: {
      ...inner.blobs,
      put: (key: string, bytes: Uint8Array) => {
        out.puts++;
        return inner.blobs.put(key, bytes);
      },
    },
    rows: {
      ...inner.rows,
      insertBatch: (writes: Parameters<Store["rows"]["insertBatch"]>[0]) => {
        out.batches++;
        for (const w of writes) out.rowsWritten.push(w.pk);
        return inner.rows.insertBatch(writes);
      },
    },
  };
  // The row store's own methods keep their `this`.
  for (const name of ["read", "readBatch", "readRange", "delete", "deleteRange", "poll", "insert"] as const)
    (out.rows as Record<string, unknown>)[name] = (inner.rows[name] as (...a: unknown[]) => unknown).bind(
      inner.rows,
    );
  for (const name of ["get", "head", "delete", "list", "copy"] as const)
    (out.blobs as Record<string, unknown>)[name] = (inner.blobs[name] as (...a: unknown[]) => unknown).bind(
      inner.blobs,
    );
  return out;
}

let store: ReturnType<typeof counted>;
let account: Account;

before(async () => {
  store = counted(memoryStore({ largeRowBytes: LARGE_ROWS }));
  account = await createAccount(store, { user: "tester", password: PASSWORD, kdf: TEST_KDF });
});
after(async () => {
  await account.close();
  await store.close();
});

async function append(i: number, opts: { bodyLines?: number } = {}): Promise<string> {
  const inbox = await account.mailbox("INBOX");
  return (await inbox.append(sampleMessage(i, opts), [], Date.now())).mailId;
}

test("a small body is a row written in the APPEND's one batch; a large one stays a blob", async () => {
  await append(0); // the mailbox's first write (its lot of ids) is done
  const [puts, batches] = [store.puts, store.batches];
  const small = await append(1);
  assert.equal(store.puts - puts, 0, "no PUT for a small body");
  assert.equal(store.batches - batches, 1, "one row batch: op row, meta row and body row");
  assert.ok((await store.rows.read(BODY_ROW_PK, small))?.values.length === 1);
  assert.equal(await store.blobs.head(`mail/${small}`), null);
  const large = await append(2, LARGE);
  assert.ok(await store.blobs.head(`mail/${large}`), "a body sealed past 64 KiB is a blob");
  assert.equal(await store.rows.read(BODY_ROW_PK, large), null);

  const fresh = await openAccount(store, PASSWORD);
  try {
    const meta = await fresh.messages.meta(small);
    assert.equal(meta.inRow, true, "the sealed meta says where the body is");
    assert.deepEqual(await fresh.messages.body(meta), sampleMessage(1));
    assert.deepEqual(await fresh.messages.bodyRange(meta, 10, 40), sampleMessage(1).subarray(10, 50));
    const big = await fresh.messages.meta(large);
    assert.equal(big.inRow, undefined);
    assert.deepEqual(await fresh.messages.body(big), sampleMessage(2, LARGE));
    assert.deepEqual(await fresh.messages.whole([small, large]), new Set([small, large]));
  } finally {
    await fresh.close();
  }
});

test("bodies stored as blobs before body rows still read, copy and delete", async () => {
  // The same bucket, first through a store that keeps every body in a blob.
  const inner = memoryStore();
  const old = await createAccount(inner, { user: "old", password: PASSWORD, kdf: TEST_KDF });
  const id = (await (await old.mailbox("INBOX")).append(sampleMessage(3), [], Date.now())).mailId;
  await old.close();
  const now = { ...inner, largeRowBytes: LARGE_ROWS };
  const reopened = await openAccount(now, PASSWORD);
  try {
    const meta = await reopened.messages.meta(id);
    assert.equal(meta.inRow, undefined);
    assert.deepEqual(await reopened.messages.body(meta), sampleMessage(3));
    const inbox = await reopened.mailbox("INBOX");
    await reopened.createMailbox("Kept");
    const kept = await reopened.mailbox("Kept");
    await inbox.copyTo(kept, [id]);
    const copyId = kept.index.shown.idAt(0);
    await inbox.expunge([id]);
    assert.equal(await inner.blobs.head(`mail/${id}`), null);
    assert.deepEqual(await reopened.messages.body(await reopened.messages.meta(copyId)), sampleMessage(3));
  } finally {
    await reopened.close();
    await inner.close();
  }
});

test("COPY writes a body row beside the new meta row; EXPUNGE deletes the body row", async () => {
  const id = await append(4);
  const inbox = await account.mailbox("INBOX");
  await account.createMailbox("Copies");
  const copies = await account.mailbox("Copies");
  await inbox.copyTo(copies, [id]);
  const copyId = copies.index.shown.idAt(copies.index.shown.size - 1);
  assert.ok((await store.rows.read(BODY_ROW_PK, copyId))?.values.length === 1);
  await inbox.expunge([id]);
  const gone = await store.rows.read(BODY_ROW_PK, id);
  assert.ok(!gone || gone.values.length === 0, "the expunged message's body row is deleted");
  const fresh = await openAccount(store, PASSWORD);
  try {
    assert.deepEqual(await fresh.messages.body(await fresh.messages.meta(copyId)), sampleMessage(4));
  } finally {
    await fresh.close();
  }
});

/** The host's view of a body row: its one value, and a way to replace it. */
async function bodyRow(id: string) {
  const row = await store.rows.read(BODY_ROW_PK, id);
  assert.ok(row && row.values.length === 1);
  return {
    bytes: row.values[0]!,
    put: (bytes: Uint8Array) => store.rows.insert(BODY_ROW_PK, id, bytes, row.token),
  };
}

test("a changed byte in a body row is Tampered, whole and ranged", async () => {
  const id = await append(5);
  const row = await bodyRow(id);
  const changed = Uint8Array.from(row.bytes);
  changed[changed.length - 20]! ^= 0x01;
  await row.put(changed);
  const fresh = await openAccount(store, PASSWORD);
  try {
    const meta = await fresh.messages.meta(id);
    await assert.rejects(fresh.messages.body(meta), Tampered);
    await assert.rejects(fresh.messages.bodyRange(meta, 0, 100), Tampered);
  } finally {
    await fresh.close();
  }
});

test("a body row replayed from another message is WrongContext; the other still reads", async () => {
  const a = await append(6);
  const b = await append(7);
  await (await bodyRow(a)).put((await bodyRow(b)).bytes);
  const fresh = await openAccount(store, PASSWORD);
  try {
    await assert.rejects(fresh.messages.body(await fresh.messages.meta(a)), WrongContext);
    assert.deepEqual(await fresh.messages.body(await fresh.messages.meta(b)), sampleMessage(7));
  } finally {
    await fresh.close();
  }
});

test("a dropped body row is NotFound naming the row; the message stays listed", async () => {
  const id = await append(8);
  const row = await store.rows.read(BODY_ROW_PK, id);
  await store.rows.delete(BODY_ROW_PK, id, row!.token);
  const fresh = await openAccount(store, PASSWORD);
  try {
    const meta = await fresh.messages.meta(id);
    await assert.rejects(fresh.messages.body(meta), (err: unknown) => {
      assert.ok(err instanceof NotFound);
      assert.match(err.message, new RegExp(`body/${id}`));
      return true;
    });
    assert.ok((await fresh.mailbox("INBOX")).index.byId.has(id));
    assert.deepEqual(await fresh.messages.whole([id]), new Set(), "recovery sees it is not whole");
  } finally {
    await fresh.close();
  }
});

test("a value the host adds beside a body row (a sibling) is passed over", async () => {
  const id = await append(9);
  const { bytes, put } = await bodyRow(id);
  const forged = Uint8Array.from(bytes);
  forged[forged.length - 1]! ^= 0x01;
  // Siblings come in the host's order (K2V's): here the forged ones first, the real value last.
  await put(forged);
  await store.rows.insert(BODY_ROW_PK, id, Uint8Array.from(forged.subarray(0, 40)));
  await store.rows.insert(BODY_ROW_PK, id, bytes);
  const values = (await store.rows.read(BODY_ROW_PK, id))!.values;
  assert.equal(values.length, 3);
  assert.deepEqual(values[2], bytes);
  const fresh = await openAccount(store, PASSWORD);
  try {
    assert.deepEqual(await fresh.messages.body(await fresh.messages.meta(id)), sampleMessage(9));
  } finally {
    await fresh.close();
  }
});

test("many bodies read at once go out in one row batch read", async () => {
  const ids: string[] = [];
  for (let i = 20; i < 30; i++) ids.push(await append(i));
  const fresh = await openAccount(store, PASSWORD);
  let batches = 0;
  const readBatch = store.rows.readBatch.bind(store.rows);
  store.rows.readBatch = (keys) => {
    if (keys.some((k) => k.pk === BODY_ROW_PK)) batches++;
    return readBatch(keys);
  };
  try {
    const metas = await fresh.messages.getMeta(ids);
    const bodies = await Promise.all(ids.map((id) => fresh.messages.body(metas.get(id)!)));
    bodies.forEach((b, i) => assert.deepEqual(b, sampleMessage(20 + i)));
    assert.equal(batches, 1);
  } finally {
    store.rows.readBatch = readBatch;
    await fresh.close();
  }
});

test("a warm session reads appended bodies from the local cache, not the host", async () => {
  const remote = counted(memoryStore({ largeRowBytes: LARGE_ROWS }));
  const cached = await withLocalCache(remote, memoryStore(), CACHEABLE);
  const first = await createAccount(cached, { user: "warm", password: PASSWORD, kdf: TEST_KDF });
  const id = (await (await first.mailbox("INBOX")).append(sampleMessage(11), [], Date.now())).mailId;
  await first.close();
  await cached.settle();
  let remoteBodyReads = 0;
  const readBatch = remote.rows.readBatch.bind(remote.rows);
  remote.rows.readBatch = (keys) => {
    remoteBodyReads += keys.filter((k) => k.pk === BODY_ROW_PK).length;
    return readBatch(keys);
  };
  const warm = await openAccount(cached, PASSWORD);
  try {
    assert.deepEqual(await warm.messages.body(await warm.messages.meta(id)), sampleMessage(11));
    assert.equal(remoteBodyReads, 0);
  } finally {
    await warm.close();
    await cached.close();
  }
});

test("account removal finds and deletes body rows", async () => {
  const plan = await planAccountRemoval(account);
  assert.ok(plan.counts["body rows"] > 5, `${plan.counts["body rows"]} body rows`);
  assert.ok(plan.rows.some((r) => r.pk === BODY_ROW_PK));
  await account.close();
  await removeAccountData(store, plan);
  assert.equal((await store.rows.readRange(BODY_ROW_PK)).items.length, 0);
  assert.equal((await store.rows.readRange(META_PK)).items.length, 0);
  account = await createAccount(store, { user: "tester", password: PASSWORD, kdf: TEST_KDF });
});

test("an APPEND whose batch landed without its body row is withdrawn at the next start", async () => {
  const marksDir = await mkdtemp(join(tmpdir(), "agl-body-rows-"));
  const base = memoryStore({ largeRowBytes: LARGE_ROWS });
  let cut = false;
  const rows = Object.create(base.rows) as Store["rows"];
  // From `cut` on, a batch lands without its body rows and never answers: the process dies.
  rows.insertBatch = async (writes) => {
    if (!cut) return base.rows.insertBatch(writes);
    await base.rows.insertBatch(writes.filter((w) => w.pk !== BODY_ROW_PK));
    return new Promise(() => undefined);
  };
  try {
    const first = await createAccount(
      { ...base, rows },
      { user: "u", password: PASSWORD, kdf: TEST_KDF, marksDir },
    );
    const inbox = await first.mailbox("INBOX");
    const kept = await inbox.append(sampleMessage(12), [], Date.now());
    cut = true;
    void inbox.append(sampleMessage(13), [], Date.now());
    const metas = async () => (await base.rows.readRange(META_PK)).items.map((r) => r.sk);
    for (let i = 0; i < 100 && (await metas()).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const ghost = (await metas()).find((id) => id !== kept.mailId);
    assert.ok(ghost, "the cut APPEND's meta row landed, its body row did not");
    assert.equal(await base.rows.read(BODY_ROW_PK, ghost), null);

    const second = await openAccount(base, PASSWORD, { marksDir, log: () => undefined });
    try {
      const again = await second.mailbox("INBOX");
      assert.deepEqual(
        [...again.index.byId.keys()],
        [kept.mailId],
        "the message without its body is withdrawn",
      );
      const meta = await base.rows.read(META_PK, ghost);
      assert.ok(!meta || meta.values.length === 0, "and its meta row deleted");
    } finally {
      await second.close();
    }
  } finally {
    await rm(marksDir, { recursive: true, force: true });
  }
});
