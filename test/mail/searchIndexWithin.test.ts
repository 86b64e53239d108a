/**
 * Issue 18: under the load tool the account grew by about 15 messages a second (COPY and MOVE to
 * an archive nobody selects), and every SEARCH HEADER of the 200-message INBOX opened and
 * decrypted every file of the account's search index, so it cost more the longer the run. A
 * search names the ids of its view; the index keeps a filter of each file's ids in memory
 * (mail/search/idFilter.ts) and opens only the files that may hold one of them. Counted here in
 * files opened (batches yielded), not timed.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { createHash } from "node:crypto";
import { IdFilter } from "../../src/mail/search/idFilter.ts";
import type { SearchDoc } from "../../src/mail/search/searchDoc.ts";
import { SearchIndex } from "../../src/mail/search/searchIndex.ts";
import { trigramSignature } from "../../src/mail/search/trigramSignature.ts";

let dir: string;
const log = () => undefined;
/** Ids as the server makes them (32 hex digits), seeded: the same filters on every run. */
let made = 0;
const newMailId = () => createHash("sha256").update(`id ${made++}`).digest("hex").slice(0, 32);

before(async () => {
  await loadSodium();
  dir = await mkdtemp(join(tmpdir(), "agl-search-within-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function doc(id: string, i: number): SearchDoc {
  const bodyText = `body of message ${i}`;
  return {
    id,
    internalDate: 1_700_000_000_000 + i,
    size: 1000 + i,
    sentDay: 1_699_920_000_000,
    headerText: `message-id: <m${i}@load>`,
    fields: ["message-id", `<m${i}@load>`],
    bodyText,
    signature: trigramSignature(bodyText),
    headerSignature: trigramSignature(`message-id: <m${i}@load>`),
  };
}

/** Files opened (batches yielded) and the ids served, for a search about `within`. */
async function walk(index: SearchIndex, within?: string[]): Promise<{ files: number; ids: Set<string> }> {
  let files = 0;
  const ids = new Set<string>();
  for await (const batch of index.batches(within)) {
    files += 1;
    for (const id of batch.ids) if (id !== "") ids.add(id);
  }
  return { files, ids };
}

test("a filter of ids never leaves one out, and lets few others through", () => {
  const held = Array.from({ length: 1000 }, () => newMailId());
  const filter = IdFilter.of(held, held.length);
  for (const id of held) assert.ok(filter.mayHold(id), `${id} left out`);
  let through = 0;
  for (let i = 0; i < 20_000; i++) if (filter.mayHold(newMailId())) through += 1;
  assert.ok(through < 20, `${through} of 20,000 other ids let through (0.1% allowed)`);
});

test("a search about a few messages opens only the index files that may hold them", async () => {
  const key = randomKey();
  const folder = join(dir, "within");
  const index = new SearchIndex(folder, key, log);
  assert.ok(await index.open());
  // Six files of 200: the archive's messages, then the few a mailbox holds, in the fourth file.
  const files: string[][] = [];
  for (let f = 0; f < 6; f++) {
    const ids = Array.from({ length: 200 }, () => newMailId());
    ids.forEach((id, i) => index.add(doc(id, f * 200 + i)));
    await index.flush();
    files.push(ids);
  }
  const view = files[3]!.slice(0, 20);

  const all = await walk(index);
  assert.equal(all.files, 6);
  const some = await walk(index, view);
  assert.equal(some.files, 1, `${some.files} files opened for 20 messages of one file`);
  for (const id of view) assert.ok(some.ids.has(id));
  // Ids of two files: those two.
  assert.equal((await walk(index, [files[0]![5]!, files[5]![7]!])).files, 2);
  // No id given: every file, as before.
  assert.equal((await walk(index, undefined)).files, 6);
  await index.close();

  // The filters are made again when the files are opened at start.
  const again = new SearchIndex(folder, key, log);
  assert.ok(await again.open());
  assert.equal((await walk(again, view)).files, 1);
  await again.close();
});

test("of the messages waiting in memory, a search about a few is served only those", async () => {
  const key = randomKey();
  const index = new SearchIndex(join(dir, "pending"), key, log);
  assert.ok(await index.open());
  const waiting = Array.from({ length: 300 }, () => newMailId());
  waiting.forEach((id, i) => index.add(doc(id, i))); // fewer than a file's worth: they wait
  const view = [waiting[10]!, waiting[250]!, newMailId()];
  let served = 0;
  const ids = new Set<string>();
  for await (const batch of index.batches(view)) {
    served += batch.ids.length;
    for (const id of batch.ids) ids.add(id);
  }
  assert.equal(served, 2, `${served} waiting messages served for a search about 3`);
  assert.ok(ids.has(waiting[10]!) && ids.has(waiting[250]!));
  assert.equal((await walk(index)).ids.size, 300);
  await index.close();
});

test("a walk with a pause waits for it before each file, and ends on false or once the index is closed", async () => {
  const index = new SearchIndex(join(dir, "paused"), randomKey(), log);
  assert.ok(await index.open());
  for (let f = 0; f < 3; f++) {
    Array.from({ length: 50 }, () => newMailId()).forEach((id, i) => index.add(doc(id, f * 50 + i)));
    await index.flush();
  }
  let pauses = 0;
  let files = 0;
  const pause = () => {
    pauses += 1;
    assert.equal(pauses, files + 1, "one pause before each file, none after the last");
    return Promise.resolve(true);
  };
  for await (const batch of index.batches(undefined, pause)) {
    files += 1;
    await batch.openField("subject");
  }
  assert.deepEqual([pauses, files], [3, 3]);
  assert.ok(index.keptOpen.pieceBytes > 0, "the subject pieces stay open with their files");
  // False ends the walk before the file it was asked for.
  let asked = 0;
  let walked = 0;
  for await (const batch of index.batches(undefined, () => Promise.resolve(++asked < 2)))
    walked += batch.ids.length;
  assert.deepEqual([asked, walked], [2, 50]);
  // Closed while the walk waited: no file is opened again for it.
  let after = 0;
  for await (const batch of index.batches(undefined, () => index.close().then(() => true)))
    after += batch.ids.length;
  assert.equal(after, 0);
  assert.equal(index.keptOpen.files, 0);
});
