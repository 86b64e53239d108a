/**
 * The search index's files (mail/search/searchIndex.ts) without IMAP: what is added while a file
 * is being written lands in the next one, merging drops removed ids and keeps every other message
 * as it was, and a second process finds the folder in use and goes without.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import type { SearchDoc } from "../../src/mail/search/searchDoc.ts";
import { searchDoc } from "../support/searchDoc.ts";
import { SearchIndex } from "../../src/mail/search/searchIndex.ts";
import { trigramSignature } from "../../src/mail/search/trigramSignature.ts";

let dir: string;
const logs: string[] = [];
const log = (level: string, message: string) => void logs.push(`${level} ${message}`);

before(async () => {
  await loadSodium();
  dir = await mkdtemp(join(tmpdir(), "agl-search-files-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function doc(i: number): SearchDoc {
  return searchDoc(i, {
    subject: `message ${i}`,
    bodyText: `body of message ${i}: ${"grüße ".repeat(i % 7)}needle${i % 10}`,
    fields: ["subject", `message ${i}`, "x-n", String(i), "from", `sender${i % 3}@example.org`],
  });
}

/** Every message the index serves, as id -> [subject, x-n, body]. */
async function contents(index: SearchIndex): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const batch of index.batches()) {
    for (let i = 0; i < batch.ids.length; i++) {
      const id = batch.ids[i]!;
      if (id === "" || out.has(id)) continue;
      const f = batch.facts(i);
      out.set(id, [
        ...(await f.headerValues("Subject")),
        ...(await f.headerValues("X-N")),
        await f.bodyText(),
        String(f.size),
      ]);
    }
  }
  return out;
}

test("messages added while a file is written all reach the files, and read back as they were", async () => {
  const key = randomKey();
  const folder = join(dir, "adds");
  const index = new SearchIndex(folder, key, log);
  assert.ok(await index.open());
  for (let i = 0; i < 1300; i++) {
    index.add(doc(i));
    if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // let the writes of 500 run
  }
  await index.close();
  const again = new SearchIndex(folder, key, log);
  assert.ok(await again.open());
  assert.equal((await again.indexedIds()).size, 1300);
  const read = await contents(again);
  for (const i of [0, 499, 500, 777, 1299]) {
    const d = doc(i);
    assert.deepEqual(read.get(d.id), [d.fields[1], d.fields[3], d.bodyText, String(d.size)]);
  }
  await again.close();
});

test("messages added while a full file is written wait for the next one, not a file each", async () => {
  const key = randomKey();
  const folder = join(dir, "full");
  const index = new SearchIndex(folder, key, log);
  assert.ok(await index.open());
  for (let i = 0; i < 1000; i++) index.add(doc(i)); // a full file's worth: its write starts
  for (let i = 1000; i < 1040; i++) {
    index.add(doc(i));
    await new Promise((r) => setTimeout(r, 10));
  }
  await index.close();
  const files = (await readdir(folder)).filter((f) => f.endsWith(".seg"));
  assert.ok(files.length <= 2, `${files.length} files for 1,040 messages`);
});

test("messages with long texts are written before 1,000 wait: memory is bounded by their size", async () => {
  const key = randomKey();
  const folder = join(dir, "long");
  const index = new SearchIndex(folder, key, log);
  assert.ok(await index.open());
  // 300 messages of 40,000 characters: 12 M characters, three writes' worth at 4 Mi each.
  for (let i = 0; i < 300; i++) {
    const d = doc(i);
    const bodyText = `${d.bodyText} ${"lorem ipsum ".repeat(3333)}`;
    index.add({ ...d, bodyText, signature: trigramSignature(bodyText) });
    await new Promise((r) => setTimeout(r, 2)); // appends one after another: never a quiet second
  }
  // The writes the adds started may still be sealing on a loaded machine: wait for them, but not
  // into the quiet second (after it, the rest is written anyway and the count would prove nothing).
  const lastAdd = Date.now();
  const segments = async () => (await readdir(folder)).filter((f) => f.endsWith(".seg"));
  let files = await segments();
  while (files.length < 2 && Date.now() - lastAdd < 700) {
    await new Promise((r) => setTimeout(r, 20));
    files = await segments();
  }
  assert.ok(files.length >= 2, `${files.length} files written before the quiet second for 300 long messages`);
  await index.close();
  const again = new SearchIndex(folder, key, log);
  assert.ok(await again.open());
  assert.equal((await again.indexedIds()).size, 300);
  await again.close();
});

test("a background pass writes what it adds in one file, however long it pauses", async () => {
  const key = randomKey();
  const folder = join(dir, "pass");
  const index = new SearchIndex(folder, key, log);
  assert.ok(await index.open());
  index.beginPass();
  for (let i = 0; i < 6; i++) {
    index.add(doc(i));
    // A pause for a client, longer than the quiet second after which lone appends are written.
    if (i === 2) await new Promise((r) => setTimeout(r, 1300));
  }
  await index.endPass();
  assert.equal((await readdir(folder)).filter((f) => f.endsWith(".seg")).length, 1);
  assert.equal((await index.indexedIds()).size, 6);
  await index.close();
});

test("a merge keeps every message not removed, once, and forgets the removed ones", async () => {
  const key = randomKey();
  const folder = join(dir, "merge");
  const index = new SearchIndex(folder, key, log);
  for (let round = 0; round < 30; round++) {
    for (let i = round * 10; i < round * 10 + 10; i++) index.add(doc(i));
    if (round === 20) index.remove(["id-00003", "id-00150"]);
    await index.flush(); // one file per round: past 24 files, a merge
  }
  const files = (await readdir(folder)).filter((f) => f.endsWith(".seg"));
  assert.ok(files.length < 24, `${files.length} files after the merge`);
  const read = await contents(index);
  assert.equal(read.size, 298);
  assert.ok(!read.has("id-00003") && !read.has("id-00150"));
  const d = doc(299);
  assert.deepEqual(read.get(d.id), [d.fields[1], d.fields[3], d.bodyText, String(d.size)]);
  await index.close();
});

/** doc(i) with a body of about `chars` characters. */
function longDoc(i: number, chars: number): SearchDoc {
  const d = doc(i);
  const bodyText = `${d.bodyText} ${"lorem ipsum ".repeat(Math.ceil(chars / 12))}`;
  return { ...d, bodyText, signature: trigramSignature(bodyText) };
}

const segFiles = async (folder: string) => (await readdir(folder)).filter((f) => f.endsWith(".seg"));

// Issue 18: under steady APPENDs every file is written at the character cap with a few hundred
// messages, and merging 25 such files (~125 MB of texts) held 50-70 MB of buffers for 10 s.
test("files written full by their texts are never merged, however many there are", async () => {
  const key = randomKey();
  const folder = join(dir, "full-by-text");
  const cap = 64 * 1024;
  const index = new SearchIndex(folder, key, log, cap);
  assert.ok(await index.open());
  const written = new Set<string>();
  for (let round = 0; round < 30; round++) {
    // 8 messages of 8 K characters: one file at the cap, far fewer messages than half of 1,000.
    for (let i = round * 8; i < round * 8 + 8; i++) index.add(longDoc(i, 8 * 1024));
    await index.flush();
    for (const f of await segFiles(folder)) written.add(f);
  }
  const files = await segFiles(folder);
  assert.equal(files.length, 30);
  assert.equal(written.size, 30, `${written.size - 30} files written by a merge`);
  assert.equal((await index.indexedIds()).size, 240);
  await index.close();
});

test("a merge writes a file per cap of characters, not one of 1,000 long messages", async () => {
  const key = randomKey();
  const folder = join(dir, "merge-by-text");
  const cap = 64 * 1024;
  const index = new SearchIndex(folder, key, log, cap);
  assert.ok(await index.open());
  // 26 small files of 2 messages of 6 K characters (12 K each, under half the cap): a merge of
  // 52 messages, 312 K characters, about five caps.
  for (let round = 0; round < 26; round++) {
    for (let i = round * 2; i < round * 2 + 2; i++) index.add(longDoc(i, 6 * 1024));
    await index.flush();
  }
  const files = await segFiles(folder);
  assert.ok(files.length >= 4 && files.length < 24, `${files.length} files after the merge`);
  for (const f of files) {
    const { size } = await stat(join(folder, f));
    assert.ok(size < 2 * cap, `${f}: ${size} bytes, more than twice the cap of ${cap} characters`);
  }
  assert.equal((await index.indexedIds()).size, 52);
  await index.close();
});

test("an index of another format is built again, logged as such and not as damage", async () => {
  const key = randomKey();
  const folder = join(dir, "format");
  const index = new SearchIndex(folder, key, log);
  index.add(doc(1));
  await index.close();
  const [file] = (await readdir(folder)).filter((f) => f.endsWith(".seg"));
  const bytes = await readFile(join(folder, file!));
  bytes[4] = 5; // the format byte, after "AGSI": what the build before wrote
  await writeFile(join(folder, file!), bytes);
  logs.length = 0;
  const again = new SearchIndex(folder, key, log);
  assert.ok(await again.open());
  assert.equal((await again.indexedIds()).size, 0);
  assert.ok(
    logs.some((l) => l.startsWith("info") && l.includes("of another format")),
    logs.join("\n"),
  );
  assert.ok(!logs.some((l) => l.startsWith("warn")), logs.join("\n"));
  await again.close();
});

test("a second process finds the index in use and searches without it", async () => {
  const key = randomKey();
  const folder = join(dir, "locked");
  const first = new SearchIndex(folder, key, log);
  assert.ok(await first.open());
  const second = new SearchIndex(folder, key, log);
  assert.equal(await second.open(), false);
  assert.equal(second.progress.state, "off");
  await first.close();
  await second.close();
});

test("a message added again once its file is written is counted and kept once (the pass and a build)", async () => {
  const key = randomKey();
  const folder = join(dir, "once");
  const index = new SearchIndex(folder, key, log);
  assert.ok(await index.open());
  // The background pass lists a message whose build has not run yet, and both reach it: the first
  // add is written to a file before the second comes.
  index.add(doc(1));
  index.add(doc(2));
  await index.flush();
  assert.equal(index.progress.indexed, 2);
  assert.equal(await index.addOnce(doc(1)), false, "a message in a file is not added again");
  assert.equal(await index.addOnce(doc(2)), false);
  assert.equal(await index.addOnce(doc(3)), true);
  assert.equal(await index.addOnce(doc(3)), false, "nor one waiting in memory");
  await index.flush();
  assert.equal(index.progress.indexed, 3);
  assert.equal(index.sizes().held, 3, "each message in one file only");
  // Removed, then back (an undone expunge): added again.
  index.remove([doc(2).id]);
  assert.equal(await index.addOnce(doc(2)), true);
  await index.close();
});
