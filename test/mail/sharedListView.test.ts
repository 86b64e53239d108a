/**
 * The list view shared through the bucket (mail/sharedListView.ts): a second computer's header list
 * comes from a few sealed segments instead of one meta row a message; a segment the host tampered
 * with, swapped, dropped or rolled back gives the same answers as no segment (the messages it
 * lacks come from their meta); expunges and a mailbox's deletion take their headers out of the
 * bucket. Ranges of 20 UIDs here (SHARED_SPAN is 1,000) so that a few hundred messages suffice.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { sealedEpoch } from "../../src/crypto/aead.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { beginRekey } from "../../src/mail/rekey/rekeyRoot.ts";
import { ResealJob } from "../../src/mail/rekey/resealJob.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import type { ListFacts } from "../../src/mail/listView.ts";
import { listSegmentKey, listSegmentPrefix, openListSegment } from "../../src/mail/listSegments.ts";
import type { Mailbox } from "../../src/mail/mailbox.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { ByteRange, Store } from "../../src/storage/types.ts";
import type { LogLevel } from "../../src/log.ts";
import { sampleMessage } from "./mailFixtures.ts";
import { tempDirs } from "../support/tempDirs.ts";
import { metaRowsCounted } from "../support/metaRowsCounted.ts";

const tempDir = tempDirs("agl-shared-list-");
const PASSWORD = "correct horse battery";
const SPAN = 20;
const COUNT = 110; // five full ranges (UIDs 1-100) and ten messages past them
const TAIL = COUNT - 5 * SPAN;

const options = async () => ({ listViewDir: await tempDir(), shareListView: true, listSegmentSpan: SPAN });

/** Computer A appends COUNT messages to INBOX and shares their list facts, as `import` does. */
async function seeded(): Promise<Store> {
  const store = memoryStore();
  const a = await createAccount(store, {
    user: "u",
    password: PASSWORD,
    kdf: TEST_KDF,
    ...(await options()),
  });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < COUNT; i++) await inbox.append(sampleMessage(i), [], 1_700_000_000_000 + i);
  await a.messages.sharedList!.fill(inbox);
  assert.equal(await a.messages.sharedList!.share(inbox), 5);
  await a.close();
  return store;
}

/** A second computer: no list view, no cache; its INBOX opened as a client's first SELECT opens it. */
async function second(store: Store, warnings: string[] = []) {
  const c = metaRowsCounted(store);
  const log = (level: LogLevel, message: string) => {
    if (level === "warn") warnings.push(message);
  };
  const b = await openAccount(c.store, PASSWORD, { ...(await options()), log });
  const { mailbox } = await b.mailboxOpened("INBOX");
  return { b, mailbox, metaRowsRead: c.metaRowsRead };
}

/** Every message's list facts, read as a header list reads them (FETCH's "list" scope). */
async function list(mailbox: Mailbox): Promise<Map<string, ListFacts>> {
  const entries = mailbox.index.uids.map((uid) => mailbox.index.byUid.get(uid)!);
  const out = new Map<string, ListFacts>();
  for await (const batch of mailbox.read(entries, { scope: "list", batchSize: 25 }))
    for (const [id, f] of batch.facts)
      out.set(id, { internalDate: f.internalDate, size: f.size, header: f.header });
  mailbox.listed(entries[0]!.uid, entries[entries.length - 1]!.uid);
  return out;
}

/** What the meta rows say: the answer without any segment. */
async function fromMeta(store: Store): Promise<Map<string, ListFacts>> {
  const c = await openAccount(store, PASSWORD);
  try {
    const { shown } = (await c.mailbox("INBOX")).index;
    const ids = Array.from({ length: shown.size }, (_, i) => shown.idAt(i));
    const out = new Map<string, ListFacts>();
    for (const [id, m] of await c.messages.getMeta(ids))
      out.set(id, { internalDate: m.internalDate, size: m.size, header: m.header });
    return out;
  } finally {
    await c.close();
  }
}

async function inboxId(store: Store): Promise<string> {
  const c = await openAccount(store, PASSWORD);
  try {
    return (await c.mailbox("INBOX")).id;
  } finally {
    await c.close();
  }
}

/** The ids a segment holds, opened with `account`'s keys; undefined when it is absent. */
async function segmentIds(account: Account, key: string): Promise<string[] | undefined> {
  const sealed = await account.store.blobs.get(key);
  if (!sealed) return undefined;
  try {
    return [...(await openListSegment(account.epochs.ring("shared-list-view"), key, sealed)).keys()];
  } catch {
    return undefined; // not (yet) one that opens
  }
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await delay(20);
  }
  assert.fail(`not within 2 s: ${what}`);
}

/**
 * A next computer lists `expected` with every full range from its segment: at most the meta rows
 * of the messages past the last full range are read.
 */
async function listsFromSegments(store: Store, expected: Map<string, ListFacts>) {
  const next = await second(store);
  try {
    assert.deepEqual(await list(next.mailbox), expected);
    assert.ok(next.metaRowsRead() <= TAIL, `${next.metaRowsRead()} meta rows read`);
  } finally {
    await next.b.close();
  }
}

test("a second computer's header list comes from the shared segments: meta rows only for the messages past the last full range", async () => {
  const store = await seeded();
  const expected = await fromMeta(store);
  const { b, mailbox, metaRowsRead } = await second(store);
  try {
    const facts = await list(mailbox);
    assert.deepEqual(facts, expected);
    assert.ok(metaRowsRead() <= TAIL, `${metaRowsRead()} meta rows read for ${COUNT} messages`);
  } finally {
    await b.close();
  }
});

for (const [what, harm] of [
  [
    "tampered with",
    async (s: Store, key: (k: number) => string) => {
      const sealed = Buffer.from((await s.blobs.get(key(1)))!);
      sealed[sealed.length - 5]! ^= 1;
      await s.blobs.put(key(1), sealed);
    },
  ],
  [
    "swapped for another range's",
    async (s: Store, key: (k: number) => string) => {
      await s.blobs.put(key(1), (await s.blobs.get(key(2)))!);
    },
  ],
  ["dropped", async (s: Store, key: (k: number) => string) => s.blobs.delete(key(1))],
] as const) {
  test(`a segment ${what} by the host gives the same answers as no segment, and the computer that listed writes it again`, async () => {
    const store = await seeded();
    const expected = await fromMeta(store);
    const mbx = await inboxId(store);
    await harm(store, (k) => listSegmentKey(mbx, k));
    const warnings: string[] = [];
    const { b, mailbox, metaRowsRead } = await second(store, warnings);
    try {
      assert.deepEqual(await list(mailbox), expected);
      assert.ok(metaRowsRead() <= TAIL + SPAN, `${metaRowsRead()} meta rows read`);
      if (what !== "dropped")
        assert.ok(
          warnings.some((w) => w.includes("does not open")),
          warnings.join("\n"),
        );
      await until(
        async () => (await segmentIds(b, listSegmentKey(mbx, 1)))?.length === SPAN,
        "range 1 written again",
      );
    } finally {
      await b.close();
    }
    // The next computer finds range 1 whole again.
    await listsFromSegments(store, expected);
  });
}

test("an expunge takes the message out of its segment; a segment rolled back to before it gives the same answers and is written again", async () => {
  const store = await seeded();
  const mbx = await inboxId(store);
  const key = listSegmentKey(mbx, 0);
  const before = (await store.blobs.get(key))!;
  const a = await openAccount(store, PASSWORD, await options());
  let gone: string;
  try {
    const inbox = await a.mailbox("INBOX");
    gone = inbox.index.shown.idAt(3);
    await inbox.expunge([gone]);
    await until(
      async () => (await segmentIds(a, key))?.includes(gone) === false,
      "segment 0 without the expunged id",
    );
    assert.equal((await segmentIds(a, key))!.length, SPAN - 1);
  } finally {
    await a.close();
  }
  const expected = await fromMeta(store);
  assert.ok(!expected.has(gone));
  await store.blobs.put(key, before); // the host serves the segment from before the expunge
  const { b, mailbox, metaRowsRead } = await second(store);
  try {
    assert.deepEqual(await list(mailbox), expected);
    assert.ok(metaRowsRead() <= TAIL, `${metaRowsRead()} meta rows read`);
    await until(
      async () => (await segmentIds(b, key))?.includes(gone) === false,
      "the rolled-back segment rewritten",
    );
  } finally {
    await b.close();
  }
});

test("a second computer with no segment writes them once it has listed the messages", async () => {
  const store = await seeded();
  const mbx = await inboxId(store);
  for (let k = 0; k < 5; k++) await store.blobs.delete(listSegmentKey(mbx, k));
  const expected = await fromMeta(store);
  const { b, mailbox } = await second(store);
  try {
    assert.deepEqual(await list(mailbox), expected);
    await until(
      async () => (await store.blobs.list(listSegmentPrefix(mbx))).keys.length === 5,
      "5 segments written",
    );
  } finally {
    await b.close();
  }
  await listsFromSegments(store, expected);
});

test("deleting a mailbox deletes its shared segments", async () => {
  const store = await seeded();
  const mbx = await inboxId(store);
  const a = await openAccount(store, PASSWORD, await options());
  try {
    await a.createMailbox("Work");
    const work = await a.mailbox("Work");
    const inbox = await a.mailbox("INBOX");
    await a.messages.sharedList!.fill(inbox);
    await inbox.moveTo(
      work,
      Array.from({ length: 45 }, (_, i) => inbox.index.shown.idAt(i)),
    );
    await a.messages.sharedList!.fill(work);
    assert.equal(await a.messages.sharedList!.share(work), 2);
    assert.equal((await store.blobs.list(listSegmentPrefix(work.id))).keys.length, 2);
    await a.deleteMailbox("Work");
    assert.deepEqual((await store.blobs.list(listSegmentPrefix(work.id))).keys, []);
    assert.ok((await store.blobs.list(listSegmentPrefix(mbx))).keys.length > 0, "INBOX's stay");
  } finally {
    await a.close();
  }
});

test("a rekey's job deletes the segments sealed under the old key epoch; the next list writes them again", async () => {
  const store = await seeded();
  const mbx = await inboxId(store);
  const a = await openAccount(store, PASSWORD, await options());
  try {
    await a.messages.sharedList!.fill(await a.mailbox("INBOX"));
    await beginRekey(a, PASSWORD, { kdf: TEST_KDF });
    assert.equal((await new ResealJob(a).run()).finished, true);
    assert.deepEqual((await store.blobs.list(listSegmentPrefix(mbx))).keys, []);
  } finally {
    await a.close();
  }
  const expected = await fromMeta(store);
  const { b, mailbox } = await second(store);
  try {
    assert.deepEqual(await list(mailbox), expected);
    await until(
      async () => (await store.blobs.list(listSegmentPrefix(mbx))).keys.length === 5,
      "written again",
    );
    for (const key of (await store.blobs.list(listSegmentPrefix(mbx))).keys)
      assert.equal(sealedEpoch((await store.blobs.get(key))!), 1, key);
  } finally {
    await b.close();
  }
});

test("a host that never answers for the segments holds the list back 5 s at most; the answers come from meta", async () => {
  const store = await seeded();
  const expected = await fromMeta(store);
  let release = (): void => undefined;
  const released = new Promise<null>((resolve) => (release = () => resolve(null)));
  const stalling: Store = {
    ...store,
    blobs: Object.assign(Object.create(store.blobs) as Store["blobs"], {
      get: (key: string, range?: ByteRange) =>
        key.includes("/list/") ? released : store.blobs.get(key, range),
    }),
  };
  const { b, mailbox, metaRowsRead } = await second(stalling);
  try {
    const t0 = performance.now();
    assert.deepEqual(await list(mailbox), expected);
    const took = performance.now() - t0;
    assert.ok(took >= 4_000 && took < 15_000, `the list took ${Math.round(took)} ms`);
    assert.ok(metaRowsRead() >= COUNT - 5, `${metaRowsRead()} meta rows read`);
  } finally {
    release();
    await b.close();
  }
});

test("a list of the first range's messages is answered from its segment while the other segments are still on their way", async () => {
  const store = await seeded();
  const expected = await fromMeta(store);
  const first = listSegmentKey(await inboxId(store), 0);
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holding: Store = {
    ...store,
    blobs: Object.assign(Object.create(store.blobs) as Store["blobs"], {
      get: async (key: string, range?: ByteRange) => {
        if (key.includes("/list/") && key !== first) await released;
        return store.blobs.get(key, range);
      },
    }),
  };
  const { b, mailbox, metaRowsRead } = await second(holding);
  try {
    const entries = mailbox.index.uids.slice(0, SPAN).map((uid) => mailbox.index.byUid.get(uid)!);
    const facts = new Map<string, ListFacts>();
    // Well under the 5 s a list waits for a fill that does not come (the test above).
    const within = delay(2_000).then(() => "held");
    const listed = (async () => {
      for await (const batch of mailbox.read(entries, { scope: "list", batchSize: SPAN }))
        for (const [id, f] of batch.facts)
          facts.set(id, { internalDate: f.internalDate, size: f.size, header: f.header });
      return "listed";
    })();
    assert.equal(await Promise.race([listed, within]), "listed");
    for (const e of entries) assert.deepEqual(facts.get(e.id), expected.get(e.id));
    assert.equal(metaRowsRead(), 0);
    release();
    // The other ranges still come from their segments.
    assert.deepEqual(await list(mailbox), expected);
    assert.ok(metaRowsRead() <= TAIL, `${metaRowsRead()} meta rows read`);
  } finally {
    release();
    await b.close();
  }
});
