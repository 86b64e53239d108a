/**
 * Issue 11: a search index file that was changed or cut short is found by its AEAD, never trusted,
 * and built again in the background; SEARCH answers stay those of a full scan meanwhile. Damage
 * found when the index is opened (at start) and damage done while the server runs.
 */
import assert from "node:assert/strict";
import { mkdtemp, open, readdir, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { memoryStore } from "../../../src/storage/memoryStore.ts";
import type { Store } from "../../../src/storage/types.ts";
import { appendRaw, loggedIn } from "./scenarioHelpers.ts";
import { corpusMessage, seeded } from "./searchCorpus.ts";

const MESSAGES = 60;
const QUERIES = [
  "BODY zanzibar",
  "TEXT straße",
  "SUBJECT report",
  "FROM jürgen",
  "BODY e",
  "NOT BODY budget",
];

let dir: string;
let store: Store;
let expected: string[];

async function segments(): Promise<string[]> {
  const [account] = await readdir(dir);
  const files = await readdir(join(dir, account!));
  return files.filter((f) => f.endsWith(".seg")).map((f) => join(dir, account!, f));
}

async function answers(c: RawImap): Promise<string[]> {
  const out: string[] = [];
  for (const q of QUERIES)
    out.push(...(await c.command(`UID SEARCH ${q}`)).filter((l) => l.startsWith("* SEARCH")));
  return out;
}

async function flipByte(file: string, at: number): Promise<void> {
  const fh = await open(file, "r+");
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0]! ^= 0x01;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

/** A server on the shared store and index folder, logged in with INBOX selected. */
async function serve(): Promise<{ server: TestServer; c: RawImap }> {
  const server = await startTestServer({
    store,
    joinExisting: true,
    searchIndexDir: dir,
    searchIndexDelayMs: 0,
  });
  const c = await loggedIn(server);
  await c.command("SELECT INBOX");
  return { server, c };
}

async function settled(server: TestServer): Promise<void> {
  const account = await server.directory.login(server.user, server.password);
  const deadline = Date.now() + 20_000;
  const index = account.searchIndex!;
  while ((index.progress.state !== "ready" || index.progress.indexed < MESSAGES) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(index.progress.state, "ready");
  await index.flush();
  // progress.indexed is a running count (a message the background pass adds while its first write
  // is in flight counts twice: a run under load saw 62 of 60); the ids held are exact.
  assert.equal((await index.indexedIds()).size, MESSAGES);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-search-damage-"));
  store = memoryStore();
  const first = await startTestServer({ store, searchIndexDir: dir, searchIndexDelayMs: 0 });
  try {
    const c = await loggedIn(first);
    const random = seeded(99);
    for (let i = 0; i < MESSAGES; i++) {
      const { raw, flags, date } = corpusMessage(random, i);
      await appendRaw(c, "INBOX", raw, flags, date);
    }
    await c.command("SELECT INBOX");
    await settled(first);
    expected = await answers(c);
    assert.ok(expected.some((l) => l !== "* SEARCH"));
    c.close();
  } finally {
    await first.close();
  }
});

after(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

for (const damage of ["a changed byte", "a file cut short"] as const) {
  test(`an index file with ${damage} is refused at start, searches stay exact, and it is built again`, async () => {
    const files = await segments();
    assert.ok(files.length > 0);
    const victim = files[0]!;
    const size = (await stat(victim)).size;
    if (damage === "a changed byte") await flipByte(victim, size - 20);
    else await truncate(victim, size - 100);
    const { server, c } = await serve();
    try {
      assert.deepEqual(await answers(c), expected);
      await settled(server);
      assert.ok(
        server.logs.some((l) => l.includes("does not open") || l.includes("is damaged")),
        "the damage is logged",
      );
      assert.ok(!(await segments()).includes(victim), "the damaged file is gone");
      const account = await server.directory.login(server.user, server.password);
      const before = account.searchIndex!.answered;
      assert.deepEqual(await answers(c), expected);
      assert.equal(
        account.searchIndex!.answered - before,
        MESSAGES * QUERIES.length,
        "answered from the new index",
      );
    } finally {
      c.close();
      await server.close();
    }
  });
}

test("an index file changed while the server runs is refused at the next search, which stays exact", async () => {
  const { server, c } = await serve();
  try {
    await settled(server);
    assert.deepEqual(await answers(c), expected);
    const [victim] = await segments();
    await flipByte(victim!, (await stat(victim!)).size - 20); // in the bodies' section
    assert.deepEqual(await answers(c), expected);
    assert.ok(
      server.logs.some((l) => l.includes("is damaged")),
      "the damage is logged",
    );
    await settled(server);
    assert.deepEqual(await answers(c), expected);
  } finally {
    c.close();
    await server.close();
  }
});
