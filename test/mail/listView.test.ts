/**
 * The list view (mail/listView.ts): a client's message list after a restart opens no meta row;
 * a segment that was damaged or put under another name is refused, the list answered from meta
 * and the view made again; messages deleted here are forgotten.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { MessageStore } from "../../src/mail/messageStore.ts";
import { Mailbox } from "../../src/mail/mailbox.ts";
import { encodeSegment, ListView, SEGMENT_SIZE, type ListFacts } from "../../src/mail/listView.ts";
import { META_PK } from "../../src/mail/messageLayout.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import type { Store } from "../../src/storage/types.ts";
import type { LogLevel } from "../../src/log.ts";
import { sampleMessage } from "./mailFixtures.ts";
import { tempDirs } from "../support/tempDirs.ts";

const tempDir = tempDirs("agl-list-view-");

/** A memory store that counts the meta rows read. */
function countingStore(): { store: Store; metaRowsRead: () => number } {
  const inner = memoryStore();
  let read = 0;
  const rows = Object.create(inner.rows) as Store["rows"];
  rows.readBatch = (keys) => {
    read += keys.filter((k) => k.pk === META_PK).length;
    return inner.rows.readBatch(keys);
  };
  return { store: { ...inner, rows }, metaRowsRead: () => read };
}

interface Setup {
  store: Store;
  metaRowsRead: () => number;
  dir: string;
  masterKey: Uint8Array;
  metaKey: Uint8Array;
  indexKey: Uint8Array;
}

/** `n` messages appended by one process whose list view is in `dir`, written at its close. */
async function seeded(n: number): Promise<Setup> {
  const { store, metaRowsRead } = countingStore();
  const setup = { store, metaRowsRead, dir: await tempDir(), masterKey: randomKey() };
  const keys = { metaKey: randomKey(), indexKey: randomKey() };
  const messages = new MessageStore(store, keys.metaKey);
  messages.listView = new ListView(setup.dir, setup.masterKey);
  const writer = new Mailbox("m1", 7, store, keys.indexKey, messages);
  for (let i = 0; i < n; i++) await writer.append(sampleMessage(i), [], 1_700_000_000_000 + i);
  writer.close();
  await messages.listView.flush();
  return { ...setup, ...keys };
}

/** A new process on the same storage and list view folder: the mailbox synced, nothing cached. */
async function reopened(s: Setup, warnings: string[] = []) {
  const messages = new MessageStore(s.store, s.metaKey);
  const view = new ListView(s.dir, s.masterKey, (level: LogLevel, message: string) => {
    if (level === "warn") warnings.push(message);
  });
  messages.listView = view;
  const mailbox = new Mailbox("m1", 7, s.store, s.indexKey, messages);
  await mailbox.sync();
  const entries = mailbox.index.uids.map((uid) => mailbox.index.byUid.get(uid)!);
  return { messages, view, mailbox, entries };
}

/** The list's facts of every message, read as FETCH reads them, and the meta rows that took. */
async function listed(s: Setup, r: Awaited<ReturnType<typeof reopened>>) {
  const before = s.metaRowsRead();
  const facts = new Map<string, ListFacts>();
  for await (const batch of r.mailbox.read(r.entries, { scope: "list", batchSize: 200 }))
    for (const [id, f] of batch.facts) facts.set(id, f);
  return { facts, metaRowsRead: s.metaRowsRead() - before };
}

/** What the meta rows say, read by a process without a list view. */
async function truth(s: Setup, ids: string[]) {
  const metas = await new MessageStore(s.store, s.metaKey).getMeta(ids);
  return new Map(
    [...metas].map(([id, m]) => [id, { internalDate: m.internalDate, size: m.size, header: m.header }]),
  );
}

const plain = (facts: Map<string, ListFacts>) =>
  new Map(
    [...facts].map(([id, f]) => [id, { internalDate: f.internalDate, size: f.size, header: f.header }]),
  );

const segmentFiles = async (s: Setup) => {
  const [account] = await readdir(s.dir);
  const folder = join(s.dir, account!);
  return (await readdir(folder)).filter((f) => f.endsWith(".seg")).map((f) => join(folder, f));
};

test("a message list after a restart is answered from the list view: no meta row is read", async () => {
  const n = SEGMENT_SIZE + 150;
  const s = await seeded(n);
  assert.equal((await segmentFiles(s)).length, 2, "a full segment and the rest");
  const r = await reopened(s);
  const { facts, metaRowsRead } = await listed(s, r);
  assert.equal(metaRowsRead, 0);
  const ids = r.entries.map((e) => e.id);
  assert.deepEqual(plain(facts), await truth(s, ids));
  assert.equal(facts.size, n);
});

test("without a list view folder the first list reads the meta and makes the view, which the next list uses", async () => {
  const s = await seeded(40);
  s.dir = await tempDir(); // a computer whose cache folder was emptied
  const first = await reopened(s);
  const cold = await listed(s, first);
  assert.equal(cold.metaRowsRead, 40);
  await first.view.flush();
  const second = await reopened(s);
  const warm = await listed(s, second);
  assert.equal(warm.metaRowsRead, 0);
  assert.deepEqual(plain(warm.facts), await truth(s, [...warm.facts.keys()]));
});

test("a damaged list view segment is refused: the list comes from meta and the view is made again", async () => {
  const s = await seeded(30);
  const [file] = await segmentFiles(s);
  const bytes = await readFile(file!);
  bytes[bytes.length - 40]! ^= 1;
  await writeFile(file!, bytes);
  const warnings: string[] = [];
  const r = await reopened(s, warnings);
  const { facts, metaRowsRead } = await listed(s, r);
  assert.equal(metaRowsRead, 30, "every message read from its meta");
  assert.deepEqual(plain(facts), await truth(s, [...facts.keys()]));
  assert.ok(
    warnings.some((w) => /does not open/.test(w)),
    warnings.join("\n"),
  );
  await r.view.flush();
  assert.ok(!(await segmentFiles(s)).includes(file!), "the damaged segment is gone");
  const again = await listed(s, await reopened(s));
  assert.equal(again.metaRowsRead, 0, "the view was made again");
});

test("a segment put in another segment's place does not open there (its name is sealed with it)", async () => {
  const s = await seeded(SEGMENT_SIZE + 10);
  const [a, b] = await segmentFiles(s);
  await copyFile(a!, b!);
  const warnings: string[] = [];
  const r = await reopened(s, warnings);
  const { facts, metaRowsRead } = await listed(s, r);
  assert.ok(metaRowsRead > 0, "the moved segment's messages are read from meta");
  assert.ok(
    warnings.some((w) => /does not open/.test(w)),
    warnings.join("\n"),
  );
  assert.deepEqual(plain(facts), await truth(s, [...facts.keys()]));
  assert.equal(facts.size, SEGMENT_SIZE + 10);
});

test("messages deleted here are forgotten, and a segment left with none is removed", async () => {
  const s = await seeded(12);
  const r = await reopened(s);
  const ids = r.entries.map((e) => e.id);
  assert.equal((await r.view.get(ids)).size, 12);
  await r.messages.delete(ids.slice(0, 5));
  assert.deepEqual([...(await r.view.get(ids)).keys()], ids.slice(5));
  await r.messages.delete(ids.slice(5));
  await r.view.flush();
  assert.deepEqual(await segmentFiles(s), []);
});

test("a damaged directory is ignored: the list comes from meta and the view is made again", async () => {
  const s = await seeded(20);
  const [account] = await readdir(s.dir);
  const file = join(s.dir, account!, "directory");
  const bytes = await readFile(file);
  bytes[bytes.length - 20]! ^= 1;
  await writeFile(file, bytes);
  const warnings: string[] = [];
  const r = await reopened(s, warnings);
  const { facts, metaRowsRead } = await listed(s, r);
  assert.equal(metaRowsRead, 20);
  assert.deepEqual(plain(facts), await truth(s, [...facts.keys()]));
  assert.ok(
    warnings.some((w) => /directory does not open/.test(w)),
    warnings.join("\n"),
  );
  await r.view.flush();
  assert.equal((await listed(s, await reopened(s))).metaRowsRead, 0);
});

test("two ids that share a route: the one the view does not hold is never answered with the other's facts", async () => {
  const dir = await tempDir();
  const masterKey = randomKey();
  const first = "0123abcd" + "0".repeat(24);
  const second = "0123abcf" + "f".repeat(24); // the same 30 leading bits
  const facts = { internalDate: 1, size: 10, header: "Subject: one\r\n\r\n" };
  const view = new ListView(dir, masterKey);
  view.add(first, facts);
  view.add(second, { internalDate: 2, size: 20, header: "Subject: two\r\n\r\n" });
  assert.deepEqual([...(await view.get([first, second])).keys()], [first]);
  await view.flush();
  const again = new ListView(dir, masterKey);
  assert.deepEqual(await again.get([first, second]), new Map([[first, facts]]));
});

test("facts adopted at once are answered from memory and written to a local segment only once the client pauses", async () => {
  const dir = await tempDir();
  const masterKey = randomKey();
  let pause = (): void => undefined;
  const paused = new Promise<void>((resolve) => (pause = resolve));
  const view = new ListView(dir, masterKey, undefined, () => paused);
  await view.ready();
  const facts = new Map(
    Array.from({ length: 5 }, (_, i) => [
      `${i}a`.padEnd(32, "0"),
      { internalDate: i, size: 10 + i, header: `Subject: ${i}\r\n\r\n` },
    ]),
  );
  view.adopt(encodeSegment([...facts]));
  assert.deepEqual(await view.get([...facts.keys()]), facts);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const files = async () =>
    (await readdir(dir, { recursive: true })).filter((f) => String(f).endsWith(".seg"));
  assert.deepEqual(await files(), [], "written while the client was busy");
  pause();
  await view.flush();
  assert.equal((await files()).length, 1);
  const again = new ListView(dir, masterKey);
  assert.deepEqual(await again.get([...facts.keys()]), facts);
});

test("an adopted segment stays encoded, off the JS heap, until a list reads it; an id refused is never answered", async () => {
  const dir = await tempDir();
  const masterKey = randomKey();
  let pause = (): void => undefined;
  const paused = new Promise<void>((resolve) => (pause = resolve));
  const view = new ListView(dir, masterKey, undefined, () => paused);
  await view.ready();
  // 1,000 header blocks of 16 kB: 16 MB of strings once decoded (one string shared here).
  const header = `Subject: ${"x".repeat(16_000)}\r\n\r\n`;
  // A route per id (routeOf: the first 30 bits).
  const ids = Array.from({ length: 1000 }, (_, i) => (i * 4).toString(16).padStart(8, "0").padEnd(32, "a"));
  const encoded = encodeSegment(ids.map((id, i) => [id, { internalDate: i, size: i, header }] as const));
  const refused = ids[7]!;
  const heap = process.memoryUsage().heapUsed;
  assert.equal(
    view.adopt(encoded, (id) => id !== refused),
    true,
  );
  const grew = process.memoryUsage().heapUsed - heap;
  assert.ok(grew < 8_000_000, `the heap grew by ${grew} bytes at the adopt`);
  const got = await view.get([ids[0]!, refused, ids[999]!]);
  assert.deepEqual([...got.keys()], [ids[0], ids[999]]);
  assert.equal(got.get(ids[999]!)!.header, header);
  pause();
  await view.flush();
  const again = new ListView(dir, masterKey);
  assert.deepEqual([...(await again.get([ids[0]!, refused])).keys()], [ids[0]]);
});

test("a directory written while an adopted segment waits for its write does not name it", async () => {
  const dir = await tempDir();
  const masterKey = randomKey();
  const warnings: string[] = [];
  const log = (level: LogLevel, message: string) => {
    if (level === "warn") warnings.push(message);
  };
  const view = new ListView(dir, masterKey, log, () => new Promise<void>(() => undefined));
  await view.ready();
  const adopted = "1".padEnd(32, "b");
  view.adopt(encodeSegment([[adopted, { internalDate: 1, size: 1, header: "Subject: a\r\n\r\n" }]]));
  // A full tail is written at once, with a directory, while the adopted segment still waits.
  for (let i = 0; i < SEGMENT_SIZE; i++)
    view.add(i.toString(16).padStart(8, "0").padEnd(32, "c"), {
      internalDate: i,
      size: i,
      header: "S: t\r\n\r\n",
    });
  for (let i = 0; i < 100; i++) {
    if ((await readdir(dir, { recursive: true })).some((f) => String(f).endsWith("directory"))) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const again = new ListView(dir, masterKey, log);
  assert.equal(again.holds(adopted), false);
  await again.ready();
  assert.equal(again.holds(adopted), false);
  assert.deepEqual(await again.get([adopted]), new Map());
  assert.deepEqual(warnings, []);
});
