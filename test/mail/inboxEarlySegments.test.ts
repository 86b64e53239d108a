/**
 * Issue 11: by this computer's hint of INBOX's id (config/inboxHint.ts), a LOGIN on a remote store
 * without a list view also lists INBOX's shared list segments and GETs them while Argon2id runs
 * (mail/listSegmentsAhead.ts), after the key root's and INBOX's first-sync reads; INBOX's fill
 * (mail/sharedListView.ts) takes them instead of its own GETs, with every check of a fetched one,
 * and only when the sealed list gives INBOX the hinted id. Ranges of 5 UIDs here (1,000 in use).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createAccount, openAccount, type AccountOptions } from "../../src/mail/account.ts";
import { KeptKeyRoot } from "../../src/mail/keptKeyRoot.ts";
import type { ListFacts } from "../../src/mail/listView.ts";
import { listSegmentKey, listSegmentPrefix } from "../../src/mail/listSegments.ts";
import { SEGMENTS_AHEAD_MAX, SegmentsAhead } from "../../src/mail/listSegmentsAhead.ts";
import type { Mailbox } from "../../src/mail/mailbox.ts";
import { unlockKeyRoot } from "../../src/crypto/keyRoot.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import type { LogLevel } from "../../src/log.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { aroundStoreCalls } from "../support/storeCalls.ts";
import { tempDirs } from "../support/tempDirs.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "correct horse battery staple";
const SPAN = 5;
const tempDir = tempDirs("agl-early-segments-");

before(async () => {
  await loadSodium();
});

interface Seeded {
  raw: Store;
  inbox: string;
  sent: string;
  root: Uint8Array;
  /** The folder of the list view of the computer that wrote the mail. */
  listViewDir: string;
}

/** An account whose INBOX holds `inboxCount` messages and Sent `sentCount`, their full ranges shared. */
async function seeded(inboxCount: number, sentCount: number, span = SPAN): Promise<Seeded> {
  const raw = memoryStore();
  const listViewDir = await tempDir();
  const account = await createAccount(raw, {
    user: "alice",
    password: PASSWORD,
    kdf: TEST_KDF,
    listViewDir,
    shareListView: true,
    listSegmentSpan: span,
  });
  const shared = account.messages.sharedList!;
  for (const [name, count] of [
    ["INBOX", inboxCount],
    ["Sent", sentCount],
  ] as const) {
    const mbx = await account.mailbox(name);
    for (let i = 0; i < count; i++) await mbx.append(sampleMessage(i), [], 1_700_000_000_000 + i);
    await shared.fill(mbx);
    assert.equal(await shared.share(mbx), Math.floor(count / span));
  }
  const { mailboxes } = await account.listMailboxes();
  await account.close();
  return {
    raw,
    inbox: mailboxes.find((m) => m.name === "INBOX")!.id,
    sent: mailboxes.find((m) => m.name === "Sent")!.id,
    root: (await raw.blobs.get("keys/root"))!,
    listViewDir,
  };
}

/**
 * The store as a remote one (a read pool of 16), every call recorded as "layer.method key[/sk]",
 * a key root kept from an earlier read whose Argon2id waits until `release`, and `serve`: what a
 * call answers instead of the real one (`real`; undefined: the real one at once).
 */
function remoteLogin(
  raw: Store,
  root: Uint8Array,
  serve: (call: string, real: () => Promise<unknown>) => Promise<unknown> | undefined = () => undefined,
) {
  const calls: string[] = [];
  const recordedStore = aroundStoreCalls(raw, (layer, prop, args, call) => {
    const named = `${layer}.${prop} ${String(args[0])}${typeof args[1] === "string" ? `/${args[1]}` : ""}`;
    calls.push(named);
    return serve(named, call) ?? call();
  });
  const store: Store = { ...recordedStore, readParallelism: () => 16 };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let derived = false;
  const kept = new KeptKeyRoot(async (parsed, password) => {
    await held;
    derived = true;
    return unlockKeyRoot(parsed, password);
  });
  kept.remember(root);
  return { store, calls, release, kept, derived: () => derived };
}

/** A second computer's options: no list view yet, the list shared, INBOX's id hinted as `hint`. */
async function secondComputer(
  hint: string,
  log?: (level: LogLevel, message: string) => void,
  listViewDir?: string,
): Promise<AccountOptions> {
  return {
    listViewDir: listViewDir ?? (await tempDir()),
    shareListView: true,
    listSegmentSpan: SPAN,
    inboxHint: { id: hint },
    ...(log ? { log } : {}),
  };
}

const segmentGets = (calls: readonly string[], mailboxId: string) =>
  calls.filter((c) => c.startsWith(`blobs.get ${listSegmentPrefix(mailboxId)}`));
const segmentListings = (calls: readonly string[], mailboxId: string) =>
  calls.filter((c) => c === `blobs.list ${listSegmentPrefix(mailboxId)}`);
const getsOf = (mailboxId: string, ranges: number[]) =>
  ranges.map((k) => `blobs.get ${listSegmentKey(mailboxId, k)}`);

/** Waits (bounded) until `ok()`. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), what);
}

/** Every message's list facts, read as a header list reads them (FETCH's "list" scope). */
async function list(mailbox: Mailbox): Promise<Map<string, ListFacts>> {
  const entries = mailbox.index.uids.map((uid) => mailbox.index.byUid.get(uid)!);
  const out = new Map<string, ListFacts>();
  for await (const batch of mailbox.read(entries, { scope: "list", batchSize: 4 }))
    for (const [id, f] of batch.facts)
      out.set(id, { internalDate: f.internalDate, size: f.size, header: f.header });
  mailbox.listed(entries[0]!.uid, entries[entries.length - 1]!.uid);
  return out;
}

/** What the meta rows say of `name`'s messages: the answer without any segment. */
async function fromMeta(store: Store, name: string): Promise<Map<string, ListFacts>> {
  const c = await openAccount(store, PASSWORD);
  try {
    const { shown } = (await c.mailbox(name)).index;
    const ids = Array.from({ length: shown.size }, (_, i) => shown.idAt(i));
    const out = new Map<string, ListFacts>();
    for (const [id, m] of await c.messages.getMeta(ids))
      out.set(id, { internalDate: m.internalDate, size: m.size, header: m.header });
    return out;
  } finally {
    await c.close();
  }
}

test("by the hint, INBOX's segments are listed and fetched while Argon2id runs, and its fill takes them instead of its own GETs", async () => {
  const s = await seeded(17, 0); // three full ranges, two messages past them
  const expected = await fromMeta(s.raw, "INBOX");
  const login = remoteLogin(s.raw, s.root);
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    ...(await secondComputer(s.inbox)),
  });
  await until(() => segmentGets(login.calls, s.inbox).length === 3, "the three segments were fetched");
  assert.equal(login.derived(), false, "Argon2id has not ended");
  assert.equal(segmentListings(login.calls, s.inbox).length, 1);
  login.release();
  const account = await opening;
  try {
    account.openAhead("INBOX");
    const { mailbox } = await account.mailboxOpened("INBOX");
    assert.deepEqual(await list(mailbox), expected);
    assert.deepEqual(
      segmentGets(login.calls, s.inbox),
      getsOf(s.inbox, [0, 1, 2]),
      "each segment fetched once, during Argon2id",
    );
  } finally {
    await account.close();
  }
});

test("the segments' GETs wait for the key root's and INBOX's first-sync reads", async () => {
  const s = await seeded(10, 0);
  let answerRows!: () => void;
  const rowsHeld = new Promise<void>((r) => (answerRows = r));
  // The host holds INBOX's op rows (the second of its first sync's three chained reads).
  const login = remoteLogin(s.raw, s.root, (call, real) =>
    call === `rows.readRange index/${s.inbox}` ? rowsHeld.then(real) : undefined,
  );
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    ...(await secondComputer(s.inbox)),
  });
  await until(() => segmentListings(login.calls, s.inbox).length === 1, "the segments were listed");
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(segmentGets(login.calls, s.inbox), [], "no segment GET while INBOX's rows are read");
  answerRows();
  await until(() => segmentGets(login.calls, s.inbox).length === 2, "then both segments were fetched");
  assert.equal(login.derived(), false, "still during Argon2id");
  const firstGet = login.calls.indexOf(getsOf(s.inbox, [0])[0]!);
  assert.ok(
    login.calls.lastIndexOf(`blobs.list index/${s.inbox}/checkpoint/`) < firstGet,
    "after the checkpoint listing that follows the rows",
  );
  login.release();
  await (await opening).close();
});

test("a hint naming another mailbox: its segments are fetched for nothing and dropped, INBOX's come by its own fill", async () => {
  const s = await seeded(10, 10);
  const warnings: string[] = [];
  const log = (level: LogLevel, message: string) => void (level === "warn" && warnings.push(message));
  const login = remoteLogin(s.raw, s.root);
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    ...(await secondComputer(s.sent, log)),
  });
  await until(
    () => segmentGets(login.calls, s.sent).length === 2,
    "the hinted mailbox's segments were fetched",
  );
  assert.deepEqual(segmentGets(login.calls, s.inbox), [], "INBOX's are not known before the unlock");
  login.release();
  const account = await opening;
  try {
    account.openAhead("INBOX");
    const { mailbox } = await account.mailboxOpened("INBOX");
    assert.deepEqual(await list(mailbox), await fromMeta(s.raw, "INBOX"));
    assert.deepEqual(segmentGets(login.calls, s.inbox), getsOf(s.inbox, [0, 1]), "INBOX's, by its fill");
    // Sent's fetched ones were let go: its own fill reads them again.
    const sent = (await account.mailboxOpened("Sent")).mailbox;
    assert.deepEqual(await list(sent), await fromMeta(s.raw, "Sent"));
    assert.deepEqual(
      segmentGets(login.calls, s.sent),
      getsOf(s.sent, [0, 1, 0, 1]),
      "Sent's segments read again by Sent's fill",
    );
    assert.deepEqual(warnings, []);
  } finally {
    await account.close();
  }
});

test("a swapped segment fetched at login is refused as a fetched one is, a stale one is found stale: both written again, the answers from meta", async () => {
  const s = await seeded(17, 0);
  // Range 1 as before an expunge of one of its messages: the host serves that state.
  const key1 = listSegmentKey(s.inbox, 1);
  const before1 = (await s.raw.blobs.get(key1))!;
  const a = await openAccount(s.raw, PASSWORD, { shareListView: true, listSegmentSpan: SPAN });
  const gone = (await a.mailbox("INBOX")).index.shown.idAt(SPAN + 2);
  await (await a.mailbox("INBOX")).expunge([gone]);
  await a.close();
  await s.raw.blobs.put(key1, before1);
  const expected = await fromMeta(s.raw, "INBOX");
  assert.ok(!expected.has(gone));
  const key0 = listSegmentKey(s.inbox, 0);
  const warnings: string[] = [];
  const log = (level: LogLevel, message: string) => void (level === "warn" && warnings.push(message));
  // During the login the host answers range 0's GET with range 2's segment.
  const login = remoteLogin(s.raw, s.root, (call) =>
    call === `blobs.get ${key0}` && !login.derived()
      ? s.raw.blobs.get(listSegmentKey(s.inbox, 2))
      : undefined,
  );
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    ...(await secondComputer(s.inbox, log)),
  });
  await until(() => segmentGets(login.calls, s.inbox).length === 3, "the segments were fetched");
  login.release();
  const account = await opening;
  try {
    account.openAhead("INBOX");
    const { mailbox } = await account.mailboxOpened("INBOX");
    assert.deepEqual(await list(mailbox), expected);
    assert.deepEqual(
      segmentGets(login.calls, s.inbox),
      getsOf(s.inbox, [0, 1, 2]),
      "no GET after the unlock",
    );
    assert.ok(
      warnings.some((w) => w.includes(`list segment ${key0} does not open`)),
      `refused: ${JSON.stringify(warnings)}`,
    );
    await until(
      () => login.calls.includes(`blobs.put ${key0}`) && login.calls.includes(`blobs.put ${key1}`),
      "the swapped and the stale segment written again",
    );
  } finally {
    await account.close();
  }
});

test(`at most ${SEGMENTS_AHEAD_MAX} segments are fetched ahead; the fill reads the others itself`, async () => {
  const ranges = SEGMENTS_AHEAD_MAX + 4;
  const s = await seeded(ranges, 0, 1); // one UID a range: a segment a message
  const login = remoteLogin(s.raw, s.root);
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    ...(await secondComputer(s.inbox)),
    listSegmentSpan: 1,
  });
  await until(
    () => segmentGets(login.calls, s.inbox).length === SEGMENTS_AHEAD_MAX,
    "the first ranges were fetched",
  );
  await new Promise((r) => setTimeout(r, 30));
  const first = Array.from({ length: SEGMENTS_AHEAD_MAX }, (_, k) => k);
  assert.deepEqual(segmentGets(login.calls, s.inbox), getsOf(s.inbox, first), "no more while Argon2id runs");
  login.release();
  const account = await opening;
  try {
    account.openAhead("INBOX");
    const { mailbox } = await account.mailboxOpened("INBOX");
    assert.deepEqual(await list(mailbox), await fromMeta(s.raw, "INBOX"));
    const all = Array.from({ length: ranges }, (_, k) => k);
    assert.deepEqual(segmentGets(login.calls, s.inbox).sort(), getsOf(s.inbox, all).sort(), "each once");
  } finally {
    await account.close();
  }
});

test("no GET starts once the segments fetched ahead hold the bytes allowed", async () => {
  const s = await seeded(15, 0);
  const calls: string[] = [];
  const blobs = aroundStoreCalls(s.raw, (_layer, prop, args, call) => {
    calls.push(`${prop} ${String(args[0])}`);
    return call();
  }).blobs;
  // One lane (a pool of 5 leaves 4 to others), at most 1 byte: the first GET only.
  const ahead = new SegmentsAhead(blobs, s.inbox, { after: Promise.resolve(), parallelism: 5, maxBytes: 1 });
  assert.deepEqual(await ahead.ranges(), [0, 1, 2]);
  assert.ok((await ahead.take(0))!.byteLength > 1);
  assert.equal(await ahead.take(1), undefined);
  assert.equal(await ahead.take(2), undefined);
  assert.equal(await ahead.take(0), undefined, "taken once");
  assert.deepEqual(
    calls.filter((c) => c.startsWith("get ")),
    [`get ${listSegmentKey(s.inbox, 0)}`],
  );
});

test("a computer that holds a list view fetches no segment ahead", async () => {
  const s = await seeded(10, 0);
  const login = remoteLogin(s.raw, s.root);
  // The folder of the computer that wrote the mail, which holds its list view.
  const opening = openAccount(login.store, PASSWORD, {
    keptKeyRoot: login.kept,
    ...(await secondComputer(s.inbox, undefined, s.listViewDir)),
  });
  await until(
    () => login.calls.filter((c) => c.startsWith(`blobs.list index/${s.inbox}/checkpoint/`)).length === 2,
    "INBOX's first-sync reads were made",
  );
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(segmentListings(login.calls, s.inbox), []);
  assert.deepEqual(segmentGets(login.calls, s.inbox), []);
  login.release();
  await (await opening).close();
});
