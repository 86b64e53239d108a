/**
 * The search index's background pass (mail/search/indexFiller.ts) on a second computer: B opens an
 * account another computer (A) filled, with an empty search index, so B's pass reads every body
 * from storage. It must step aside while a client works (B's first sync comes first) and its own
 * reads must not count as client work (or it, and the cache fill, would wait on themselves).
 */
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount, type Account } from "../../src/mail/account.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { counting } from "../storage/localCacheSupport.ts";
import { sampleMessage } from "./mailFixtures.ts";

// A full collection on demand: whether a message's bytes are still held is what a test asks.
setFlagsFromString("--expose-gc");

const PASSWORD = "correct horse battery";
const COUNT = 8;

/** A second computer's pass begins after this long under client work (START_WAIT_MAX_MS, 10 s). */
const START_WAIT_MS = 1000;

async function secondComputer() {
  const shared = memoryStore();
  const remote = counting(shared);
  const a = await createAccount(shared, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  const inbox = await a.mailbox("INBOX");
  for (let i = 0; i < COUNT; i++) await inbox.append(sampleMessage(i), [], Date.UTC(2024, 0, 1 + i));
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  const b = await openAccount(remote, PASSWORD, {
    searchIndexDir: dir,
    searchIndexDelayMs: 0,
    searchIndexStartWaitMs: START_WAIT_MS,
  });
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

/** One computer with an empty account and an empty search index of its own. */
async function oneComputer() {
  const store = memoryStore();
  const a = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  await a.close();
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  const b = await openAccount(store, PASSWORD, { searchIndexDir: dir, searchIndexDelayMs: 0 });
  return {
    b,
    async close() {
      await b.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Client work that goes on until `release` is called: no lull comes meanwhile. */
function clientWork(b: Account) {
  let release!: () => void;
  const done = b.messages.activity.track(new Promise<void>((resolve) => (release = resolve)));
  return {
    async end() {
      release();
      await done;
    },
  };
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("the search index's pass reads no body while a client's command runs, then indexes every message", async () => {
  const c = await secondComputer();
  try {
    const work = clientWork(c.b);
    c.remote.reset();
    c.b.indexInBackground(); // the first call schedules the first pass (after 0 ms here)
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(c.remote.calls.get("blobs.get") ?? 0, 0, "no body fetched while the client works");
    assert.equal(c.b.searchIndex!.progress.indexed, 0);
    await work.end();
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
  const c = await oneComputer();
  try {
    const inbox = await c.b.mailbox("INBOX");
    // A client's next command, running as soon as the APPEND is answered.
    const work = clientWork(c.b);
    const { mailId } = await inbox.append(sampleMessage(1), [], Date.UTC(2024, 0, 1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await c.b.searchIndex!.indexedIds()).has(mailId), false, "indexed while the client works");
    await work.end();
    await until("the appended message is indexed", async () =>
      (await c.b.searchIndex!.indexedIds()).has(mailId),
    );
  } finally {
    await c.close();
  }
});

test("under client work that never pauses, messages stored here are held up to a cap, then indexed", async () => {
  const c = await oneComputer();
  // Client work that runs for the whole test: no lull ever comes.
  const work = clientWork(c.b);
  try {
    const inbox = await c.b.mailbox("INBOX");
    // Four messages of ~5 MB: past the 16 MiB that may wait for a lull.
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const raw = sampleMessage(i, { bodyLines: 75_000 });
      ids.push((await inbox.append(raw, [], Date.UTC(2024, 0, 1 + i))).mailId);
    }
    // Without the cap, every message would wait for a lull that never comes, bytes and all.
    await until(
      "the first message is indexed (not every stored message waiting)",
      async () => (await c.b.searchIndex!.indexedIds()).has(ids[0]!),
      20_000,
    );
  } finally {
    await work.end();
    await c.close();
  }
});

test("a stored message past what may be held waits for its build without its bytes, then is indexed from storage", async () => {
  const c = await oneComputer();
  const gc = runInNewContext("gc") as () => void;
  try {
    const inbox = await c.b.mailbox("INBOX");
    const work = clientWork(c.b);
    // ~3 MB, past the 2 MiB of waiting messages whose bytes are kept.
    const store = async () => {
      const raw = sampleMessage(7, { bodyLines: 45_000 });
      const { mailId } = await inbox.append(raw, [], Date.UTC(2024, 0, 1));
      return { mailId, bytes: new WeakRef(raw) };
    };
    const { mailId, bytes } = await store();
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(bytes.deref(), undefined, "the message's bytes are kept while its build waits");
    assert.equal((await c.b.searchIndex!.indexedIds()).has(mailId), false, "indexed while the client works");
    await work.end();
    await until("the message is indexed", async () => (await c.b.searchIndex!.indexedIds()).has(mailId));
  } finally {
    await c.close();
  }
});

/**
 * Closes an account (on a remote store, or a local one) while a ~3 MB message, past the 2 MiB of
 * waiting messages whose bytes are kept, waits for its build; returns the body reads made while
 * closing and whether the message is in the index afterwards.
 */
async function closeWithUnheldMessageWaiting(remoteStore: boolean, holdsAll = false) {
  const store = memoryStore();
  const a = await createAccount(store, { user: "u", password: PASSWORD, kdf: TEST_KDF });
  await a.close();
  const counted = counting(store);
  // A remote store says how many reads it runs at once (Garage, S3); the embedded one does not.
  const opened = remoteStore ? { ...counted, readParallelism: () => 4 } : counted;
  const dir = await mkdtemp(join(tmpdir(), "agl-index-filler-"));
  try {
    const b = await openAccount(opened, PASSWORD, {
      searchIndexDir: dir,
      searchIndexDelayMs: 0,
      ...(holdsAll ? { searchIndexHoldsAll: true } : {}),
    });
    const work = clientWork(b);
    const inbox = await b.mailbox("INBOX");
    const { mailId } = await inbox.append(sampleMessage(7, { bodyLines: 45_000 }), [], Date.UTC(2024, 0, 1));
    counted.reset();
    const closed = b.close();
    await work.end();
    await closed;
    const bodyReads = counted.calls.get("blobs.get") ?? 0;
    const again = await openAccount(store, PASSWORD, { searchIndexDir: dir, searchIndexDelayMs: 60_000 });
    try {
      return { bodyReads, indexed: (await again.searchIndex!.indexedIds()).has(mailId) };
    } finally {
      await again.close();
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("closing on a remote store with a message past the held bytes still waiting reads no body back", async () => {
  const { bodyReads, indexed } = await closeWithUnheldMessageWaiting(true);
  assert.equal(bodyReads, 0, "a body was read back while closing");
  assert.equal(indexed, false);
});

test("closing on a local store indexes a waiting message past the held bytes, read back", async () => {
  // An `import` into the embedded store ends with such messages waiting: left out, the server's
  // first SEARCH scanned them all.
  const { bodyReads, indexed } = await closeWithUnheldMessageWaiting(false);
  assert.ok(bodyReads > 0, "the body was not read back");
  assert.equal(indexed, true, "the waiting message is not in the index after closing");
});

test("an account that holds every waiting message (import) indexes it at close, on a remote store too", async () => {
  const { bodyReads, indexed } = await closeWithUnheldMessageWaiting(true, true);
  assert.equal(bodyReads, 0, "a body was read back while closing");
  assert.equal(indexed, true, "the waiting message is not in the index after closing");
});

test("a message expunged while its build waits for a lull is not indexed afterwards", async () => {
  const c = await oneComputer();
  try {
    const inbox = await c.b.mailbox("INBOX");
    // The load's clients: append, then expunge, while client work never pauses.
    const work = clientWork(c.b);
    const gone = (await inbox.append(sampleMessage(1), [], Date.UTC(2024, 0, 1))).mailId;
    const kept = (await inbox.append(sampleMessage(2), [], Date.UTC(2024, 0, 2))).mailId;
    await inbox.expunge([gone]);
    await work.end();
    await until("the message kept is indexed", async () => (await c.b.searchIndex!.indexedIds()).has(kept));
    await c.b.searchIndex!.flush(); // the build of the expunged one came first, if it came
    const ids = await c.b.searchIndex!.indexedIds();
    assert.ok(ids.has(kept));
    assert.equal(ids.has(gone), false, "the expunged message was indexed as live");
  } finally {
    await c.close();
  }
});

test("under client work that never pauses, the pass still begins: status counts what the index lacks", async () => {
  const c = await secondComputer();
  try {
    const work = clientWork(c.b);
    c.remote.reset();
    c.b.indexInBackground();
    await until(
      "the pass has compared the index with the account",
      () => c.b.searchIndex!.progress.state === "building",
      START_WAIT_MS + 5000,
    );
    assert.equal(c.b.searchIndex!.progress.total, COUNT);
    assert.equal(c.b.searchIndex!.progress.indexed, 0);
    assert.equal(c.remote.calls.get("blobs.get") ?? 0, 0, "no body read while the client works");
    await work.end();
    await until("every message is indexed", () => c.b.searchIndex!.progress.state === "ready");
    assert.equal(c.b.searchIndex!.progress.indexed, COUNT);
  } finally {
    await c.close();
  }
});
