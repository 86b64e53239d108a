/**
 * A second computer's first SELECT of a mailbox starts fetching the bodies of its newest messages
 * into the local cache (mail/newestBodies.ts, through the cache fill), so that the client's FETCH
 * of them a moment later finds them cached or joins the reads in flight: no body is read twice.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill, type CacheFillMode } from "../../src/mail/cacheFill.ts";
import { BODY_PREFIX, CACHEABLE, META_PK } from "../../src/mail/messageLayout.ts";
import { NEWEST_MESSAGES } from "../../src/mail/newestBodies.ts";
import { WHOLE_BODY_MAX } from "../../src/mail/read/bodyReader.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { ByteRange, Store } from "../../src/storage/types.ts";
import { counting } from "../storage/localCacheSupport.ts";
import { sampleMessage } from "./mailFixtures.ts";
import { tempDirs } from "../support/tempDirs.ts";

const PASSWORD = "correct horse battery";

/** A remote whose blob reads take `ms`, as a host across a link does. */
function slowBlobs(store: Store, ms: number): Store {
  const get = store.blobs.get.bind(store.blobs);
  return {
    ...store,
    blobs: Object.assign(Object.create(store.blobs) as Store["blobs"], {
      get: async (...args: Parameters<Store["blobs"]["get"]>) => {
        await delay(ms);
        return get(...args);
      },
    }),
  };
}

/** Computer A fills INBOX with `count` messages; B opens the account through a cold local cache. */
async function secondComputer(
  count: number,
  mode: CacheFillMode = "all",
  message: (i: number) => Uint8Array = (i) => sampleMessage(i, { bodyLines: 40 }),
) {
  const shared = memoryStore();
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < count; i++) await inbox.append(message(i), [], Date.now());
  await a.close();
  const remote = counting(slowBlobs(shared, 30));
  const store = await withLocalCache(remote, memoryStore(), CACHEABLE);
  const b = await openAccount(store, PASSWORD);
  const fill = new CacheFill(b, store.localCache, { mode });
  const gets = () => remote.calls.get("blobs.get") ?? 0;
  return {
    b,
    store,
    gets,
    close: async () => {
      await fill.close();
      await b.close();
      await store.close();
    },
  };
}

/** The client's FETCH of every body of INBOX, as messages.body reads them. */
async function fetchAll(b: Awaited<ReturnType<typeof openAccount>>) {
  const mbx = await b.mailbox("INBOX");
  const metas = await b.messages.getMeta(
    Array.from({ length: mbx.index.shown.size }, (_, i) => mbx.index.shown.idAt(i)),
  );
  await Promise.all([...metas.values()].map((m) => b.messages.body(m)));
  return metas.size;
}

/** The client's FETCH of the bodies of INBOX's NEWEST_MESSAGES newest messages. */
async function fetchNewest(b: Awaited<ReturnType<typeof openAccount>>) {
  const mbx = await b.mailbox("INBOX");
  const { shown } = mbx.index;
  const ids = Array.from({ length: Math.min(NEWEST_MESSAGES, shown.size) }, (_, i) =>
    shown.idAt(shown.size - 1 - i),
  );
  const metas = await b.messages.getMeta(ids);
  await Promise.all([...metas.values()].map((m) => b.messages.body(m)));
  return metas.size;
}

test("a first SELECT fetches the newest bodies; a FETCH right after reads each body from the remote once", async () => {
  const c = await secondComputer(40);
  try {
    const before = c.gets();
    const { opened } = await c.b.mailboxOpened("INBOX");
    assert.ok(opened);
    // At once, while the fill's reads are in flight: the client's reads join them.
    assert.equal(await fetchAll(c.b), 40);
    assert.equal(c.gets() - before, 40, "a body was read from the remote twice");
  } finally {
    await c.close();
  }
});

test("the newest bodies are in the cache before the client asks: its FETCH then reads nothing remote", async () => {
  const c = await secondComputer(40);
  try {
    const before = c.gets();
    await c.b.mailboxOpened("INBOX");
    for (let i = 0; i < 100 && c.gets() - before < 40; i++) await delay(20);
    await c.store.settle();
    const fetched = c.gets();
    assert.equal(fetched - before, 40, "the fill did not fetch every new body");
    assert.equal(await fetchAll(c.b), 40);
    assert.equal(c.gets(), fetched, "the client's FETCH read a body from the remote");
  } finally {
    await c.close();
  }
});

test(`only the newest ${NEWEST_MESSAGES} bodies are fetched at the first SELECT, and none with cacheFill meta`, async () => {
  const c = await secondComputer(NEWEST_MESSAGES + 20);
  try {
    const before = c.gets();
    await c.b.mailboxOpened("INBOX");
    for (let i = 0; i < 150 && c.gets() - before < NEWEST_MESSAGES; i++) await delay(20);
    await delay(100);
    assert.equal(c.gets() - before, NEWEST_MESSAGES);
  } finally {
    await c.close();
  }
  const m = await secondComputer(10, "meta");
  try {
    const before = m.gets();
    await m.b.mailboxOpened("INBOX");
    await delay(200);
    assert.equal(m.gets() - before, 0, "cacheFill meta fetched bodies");
  } finally {
    await m.close();
  }
});

test("INBOX opened at login fetches its newest bodies before any SELECT, and no meta row past them", async () => {
  const c = await secondComputer(NEWEST_MESSAGES + 20);
  try {
    const before = c.gets();
    c.b.openAhead("INBOX");
    for (let i = 0; i < 150 && c.gets() - before < NEWEST_MESSAGES; i++) await delay(20);
    await c.store.settle();
    assert.equal(c.gets() - before, NEWEST_MESSAGES, "the opening at login did not fetch the newest bodies");
    // The meta read ahead waits for the client's SELECT: the oldest rows are not read yet.
    const info = (await c.b.listMailboxes()).mailboxes.find((m) => m.name === "INBOX")!;
    const mbx = await c.b.listedMailbox(info); // the opening at login, not taken as a SELECT
    const oldest = Array.from({ length: 20 }, (_, i) => mbx.index.shown.idAt(i));
    assert.equal((await c.store.localCache.uncachedRows(META_PK, oldest)).length, 20);
    // The SELECT that takes the opening fetches none of them again.
    const { opened } = await c.b.mailboxOpened("INBOX");
    assert.ok(opened);
    assert.equal(await fetchNewest(c.b), NEWEST_MESSAGES);
    assert.equal(c.gets() - before, NEWEST_MESSAGES, "a newest body was read from the remote twice");
  } finally {
    await c.close();
  }
});

test("a large newest body is fetched whole at the first SELECT: the FETCH's ranged reads find it cached", async () => {
  // Every third message over WHOLE_BODY_MAX (~1.6 MB): FETCH reads such a body by 256 KiB ranges.
  const large = (i: number) => i % 3 === 1;
  const c = await secondComputer(6, "all", (i) => sampleMessage(i, { bodyLines: large(i) ? 24_000 : 40 }));
  try {
    const before = c.gets();
    await c.b.mailboxOpened("INBOX");
    const mbx = await c.b.mailbox("INBOX");
    const metas = await c.b.messages.getMeta(Array.from({ length: 6 }, (_, i) => mbx.index.shown.idAt(i)));
    const big = [...metas.values()].filter((m) => m.size > WHOLE_BODY_MAX);
    assert.equal(big.length, 2);
    for (let i = 0; i < 100 && !big.every((m) => c.store.localCache.hasBlob(m.blob)); i++) await delay(20);
    await c.store.settle();
    const fetched = c.gets();
    assert.equal(fetched - before, 6, "the fill did not fetch every newest body, once");
    for (const meta of big) {
      const PIECE = 256 * 1024;
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < meta.physicalSize; at += PIECE)
        pieces.push(await c.b.messages.bodyRange(meta, at, PIECE));
      assert.equal(Buffer.concat(pieces).length, meta.physicalSize);
    }
    assert.equal(c.gets(), fetched, "a piece of a large body was read from the remote");
  } finally {
    await c.close();
  }
});

test("a read that joins another's gets its own bytes: what the first reader changed does not reach it", async () => {
  const shared = memoryStore();
  await shared.blobs.put("mail/x", Uint8Array.from([1, 2, 3]));
  const remote = counting(shared);
  // A cache whose writes take a while: a second read comes while the copy is still being written.
  const cache = memoryStore();
  const put = cache.blobs.put.bind(cache.blobs);
  cache.blobs.put = async (key, bytes) => {
    await delay(100);
    return put(key, bytes);
  };
  const store = await withLocalCache(remote, cache, CACHEABLE);
  try {
    const a = (await store.blobs.get("mail/x"))!;
    a[0] = 9;
    assert.deepEqual([...(await store.blobs.get("mail/x"))!], [1, 2, 3]);
    assert.equal(remote.calls.get("blobs.get"), 1, "the second read went to the remote");
  } finally {
    await store.close();
  }
});

test("a ranged read of a blob whose whole read is in flight is cut from it, not asked of the remote", async () => {
  const shared = memoryStore();
  const object = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  await shared.blobs.put("mail/y", object);
  const remote = counting(slowBlobs(shared, 50));
  const store = await withLocalCache(remote, memoryStore(), CACHEABLE);
  try {
    const whole = store.blobs.get("mail/y");
    const [piece, tail] = await Promise.all([
      store.blobs.get("mail/y", { start: 100, end: 199 }),
      store.blobs.get("mail/y", { start: 900 }),
    ]);
    assert.deepEqual([...piece!], [...object.subarray(100, 200)]);
    assert.deepEqual([...tail!], [...object.subarray(900)]);
    assert.equal((await whole)!.length, 1000);
    assert.equal(
      remote.calls.get("blobs.get"),
      1,
      "a range was read from the remote beside the whole object",
    );
  } finally {
    await store.close();
  }
});

test("INBOX opened at login fetches its newest bodies while the shared list segments are still on their way", async () => {
  const SPAN = 20;
  // Eleven full ranges; the newest bodies' meta rows fill ten of them in the view, the oldest
  // range's segment is fetched.
  const COUNT = NEWEST_MESSAGES + SPAN;
  const dirs = tempDirs("agl-newest-bodies-");
  const shared = memoryStore();
  const a = await createAccount(shared, {
    user: "u",
    password: PASSWORD,
    kdf: TEST_KDF,
    listViewDir: await dirs(),
    shareListView: true,
    listSegmentSpan: SPAN,
  });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < COUNT; i++) await inbox.append(sampleMessage(i), [], 1_700_000_000_000 + i);
  await a.messages.sharedList!.fill(inbox);
  assert.equal(await a.messages.sharedList!.share(inbox), COUNT / SPAN);
  await a.close();
  // The host holds every segment's answer until the bodies are in (or 3 s, so a failure ends).
  let release = (): void => undefined;
  const held = Promise.race([new Promise<void>((r) => (release = r)), delay(3000)]);
  const remote = slowBlobs(shared, 10);
  const get = remote.blobs.get.bind(remote.blobs);
  let bodies = 0;
  let segments = 0;
  remote.blobs = Object.assign(Object.create(remote.blobs) as Store["blobs"], {
    get: async (key: string, range?: ByteRange) => {
      if (key.includes("/list/")) {
        segments++;
        await held;
      }
      const bytes = await get(key, range);
      if (key.startsWith(BODY_PREFIX)) bodies++;
      return bytes;
    },
  });
  const store = await withLocalCache(remote, memoryStore(), CACHEABLE);
  const b = await openAccount(store, PASSWORD, {
    listViewDir: await dirs(),
    shareListView: true,
    listSegmentSpan: SPAN,
  });
  const fill = new CacheFill(b, store.localCache);
  try {
    b.openAhead("INBOX");
    for (let i = 0; i < 100 && bodies < NEWEST_MESSAGES; i++) await delay(20);
    assert.equal(bodies, NEWEST_MESSAGES, "the newest bodies waited for the list segments");
    assert.equal(segments, 1);
  } finally {
    release();
    await fill.close();
    await b.close();
    await store.close();
  }
});

test("while the client is busy the newest bodies stay in memory, not the cache, and a FETCH of them is still authenticated", async () => {
  const shared = memoryStore();
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < 6; i++) await inbox.append(sampleMessage(i, { bodyLines: 40 }), [], Date.now());
  await a.close();
  // The host changes one byte of one body: its FETCH must fail, served from memory or not.
  const [tampered] = (await shared.blobs.list(BODY_PREFIX)).keys;
  const bytes = (await shared.blobs.get(tampered!))!;
  const at = bytes.length >> 1;
  bytes[at] = bytes[at]! ^ 1;
  await shared.blobs.put(tampered!, bytes);
  const remote = slowBlobs(shared, 10);
  const get = remote.blobs.get.bind(remote.blobs);
  let bodyGets = 0;
  remote.blobs = Object.assign(Object.create(remote.blobs) as Store["blobs"], {
    get: (key: string, range?: ByteRange) => {
      if (key.startsWith(BODY_PREFIX)) bodyGets++;
      return get(key, range);
    },
  });
  const cache = memoryStore();
  const store = await withLocalCache(remote, cache, CACHEABLE);
  const b = await openAccount(store, PASSWORD);
  const fill = new CacheFill(b, store.localCache);
  // A client command in flight for the whole of it: no lull.
  let done = (): void => undefined;
  const busy = b.messages.activity.track(new Promise<void>((resolve) => (done = resolve)));
  try {
    await b.mailboxOpened("INBOX");
    for (let i = 0; i < 100 && bodyGets < 6; i++) await delay(20);
    assert.equal(bodyGets, 6);
    await delay(100);
    assert.deepEqual(
      (await cache.blobs.list(BODY_PREFIX)).keys,
      [],
      "a body copy written while the client was busy",
    );
    const mbx = await b.mailbox("INBOX");
    const metas = await b.messages.getMeta(Array.from({ length: 6 }, (_, i) => mbx.index.shown.idAt(i)));
    for (const meta of metas.values()) {
      if (meta.blob === tampered) await assert.rejects(b.messages.body(meta), /tamper|authenticat/i);
      else assert.ok((await b.messages.body(meta)).length > 0);
    }
    assert.equal(bodyGets, 6, "a FETCH read a held body from the remote");
    done();
    await busy;
    await store.settle();
    assert.equal((await cache.blobs.list(BODY_PREFIX)).keys.length, 6, "the copies written at the lull");
  } finally {
    done();
    await fill.close();
    await b.close();
    await store.close();
  }
});
