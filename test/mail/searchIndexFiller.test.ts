/**
 * The search index's background pass (mail/search/indexFiller.ts) on a second computer: B opens an
 * account another computer (A) filled, with an empty search index, so B's pass reads every body
 * from storage. It must step aside while a client works (B's first sync comes first) and its own
 * reads must not count as client work (or it, and the cache fill, would wait on themselves).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { counting } from "../storage/localCacheSupport.ts";
import { sampleMessage } from "./mailFixtures.ts";

const PASSWORD = "correct horse battery";
const COUNT = 8;

async function secondComputer() {
  const shared = memoryStore();
  const remote = counting(shared);
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < COUNT; i++) await inbox.append(sampleMessage(i), [], Date.UTC(2024, 0, 1 + i));
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  const b = await openAccount(remote, PASSWORD, { searchIndexDir: dir, searchIndexDelayMs: 0 });
  return {
    remote,
    b,
    async close() {
      await b.close();
      await a.close();
      await shared.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("the search index's pass reads no body while a client's command runs, then indexes every message", async () => {
  const c = await secondComputer();
  try {
    let release!: () => void;
    const command = c.b.messages.activity.track(new Promise<void>((resolve) => (release = resolve)));
    c.remote.reset();
    c.b.indexInBackground(); // the first call schedules the first pass (after 0 ms here)
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(c.remote.calls.get("blobs.get") ?? 0, 0, "no body fetched while the client works");
    assert.equal(c.b.searchIndex!.progress.indexed, 0);
    release();
    await command;
    await until("every message is indexed", () => c.b.searchIndex!.progress.state === "ready");
    assert.equal(c.b.searchIndex!.progress.indexed, COUNT);
    assert.equal(c.remote.calls.get("blobs.get"), COUNT, "each body read once");
  } finally {
    await c.close();
  }
});

test("background reads of meta and bodies are not client work; a client's reads are", async () => {
  const c = await secondComputer();
  try {
    const { activity } = c.b.messages;
    const inbox = await c.b.mailbox("INBOX");
    const ids = [...inbox.index.byId.keys()];
    const background = c.b.messages.background.getMeta(ids);
    assert.equal(activity.busy(0), false, "a background meta read in flight");
    const metas = await background;
    assert.equal(metas.size, COUNT);
    const meta = metas.get(ids[0]!)!;
    const body = c.b.messages.background.bodyRange(meta, 0, 10);
    assert.equal(activity.busy(0), false, "a background body read in flight");
    assert.equal((await body).length, 10);
    const client = c.b.messages.getMeta(ids);
    assert.equal(activity.busy(0), true, "a client's meta read in flight");
    await client;
  } finally {
    await c.close();
  }
});

test("a message appended here is indexed once client work pauses, not while it runs", async () => {
  const store = memoryStore();
  const a = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  await a.close();
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  const b = await openAccount(store, PASSWORD, { searchIndexDir: dir, searchIndexDelayMs: 0 });
  try {
    const inbox = await b.mailbox("INBOX");
    let release!: () => void;
    // A client's next command, running as soon as the APPEND is answered.
    const command = b.messages.activity.track(new Promise<void>((resolve) => (release = resolve)));
    const { mailId } = await inbox.append(sampleMessage(1), [], Date.UTC(2024, 0, 1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await b.searchIndex!.indexedIds()).has(mailId), false, "indexed while the client works");
    release();
    await command;
    const deadline = Date.now() + 10_000;
    while (!(await b.searchIndex!.indexedIds()).has(mailId)) {
      if (Date.now() > deadline) throw new Error("the appended message was never indexed");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await b.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("under client work that never pauses, messages stored here are held up to a cap, then indexed", async () => {
  const store = memoryStore();
  const a = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  await a.close();
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  const b = await openAccount(store, PASSWORD, { searchIndexDir: dir, searchIndexDelayMs: 0 });
  let release!: () => void;
  // Client work that runs for the whole test: no lull ever comes.
  const command = b.messages.activity.track(new Promise<void>((resolve) => (release = resolve)));
  try {
    const inbox = await b.mailbox("INBOX");
    // Four messages of ~5 MB: past the 16 MiB that may wait for a lull.
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const raw = sampleMessage(i, { bodyLines: 75_000 });
      ids.push((await inbox.append(raw, [], Date.UTC(2024, 0, 1 + i))).mailId);
    }
    const deadline = Date.now() + 20_000;
    while (!(await b.searchIndex!.indexedIds()).has(ids[0]!)) {
      // Without the cap, every message would wait for a lull that never comes, bytes and all.
      if (Date.now() > deadline) throw new Error("nothing indexed: every stored message still waits");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    release();
    await command;
    await b.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a message expunged while its build waits for a lull is not indexed afterwards", async () => {
  const store = memoryStore();
  const a = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  await a.close();
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  const b = await openAccount(store, PASSWORD, { searchIndexDir: dir, searchIndexDelayMs: 0 });
  try {
    const inbox = await b.mailbox("INBOX");
    let release!: () => void;
    // The load's clients: append, then expunge, while client work never pauses.
    const command = b.messages.activity.track(new Promise<void>((resolve) => (release = resolve)));
    const gone = (await inbox.append(sampleMessage(1), [], Date.UTC(2024, 0, 1))).mailId;
    const kept = (await inbox.append(sampleMessage(2), [], Date.UTC(2024, 0, 2))).mailId;
    await inbox.expunge([gone]);
    release();
    await command;
    const deadline = Date.now() + 10_000;
    let ids = await b.searchIndex!.indexedIds();
    while (!ids.has(kept)) {
      if (Date.now() > deadline) throw new Error("the message kept was never indexed");
      await new Promise((resolve) => setTimeout(resolve, 20));
      ids = await b.searchIndex!.indexedIds();
    }
    await b.searchIndex!.flush(); // the build of the expunged one came first, if it came
    ids = await b.searchIndex!.indexedIds();
    assert.ok(ids.has(kept));
    assert.equal(ids.has(gone), false, "the expunged message was indexed as live");
  } finally {
    await b.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
