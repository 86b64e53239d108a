/**
 * The search index's files kept open across searches (segmentCache.ts): the same opened file for a
 * second search, within its bounds (messages whose meta is kept, bytes of opened pieces), and a
 * file merged away under a search stays readable to that search until it lets go.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import type { SearchDoc } from "../../src/mail/search/searchDoc.ts";
import { searchDoc } from "../support/searchDoc.ts";
import { SegmentCache } from "../../src/mail/search/segmentCache.ts";
import { encodeSegment } from "../../src/mail/search/segmentFile.ts";

const key = randomKey();
let dir: string;

function doc(i: number): SearchDoc {
  return searchDoc(i, {
    subject: `message ${i}`,
    bodyText: `body of message ${i}`,
    fields: ["subject", `message ${i} ${"x".repeat(200)}`],
  });
}

/** Files f0, f1, f2 of 10 messages each. */
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-segment-cache-"));
  for (let f = 0; f < 3; f++) {
    const docs = Array.from({ length: 10 }, (_, i) => doc(10 * f + i));
    await writeFile(join(dir, `f${f}`), encodeSegment(key, `f${f}`, docs));
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lease = (cache: SegmentCache, f: number) => cache.lease(join(dir, `f${f}`), `f${f}`, key);

test("a second search gets the file the first one opened, until more messages than the bound", async () => {
  const cache = new SegmentCache(20, 1 << 20);
  const first = await lease(cache, 0);
  first.release();
  const again = await lease(cache, 0);
  assert.equal(again.seg, first.seg, "kept open");
  again.release();
  (await lease(cache, 1)).release();
  (await lease(cache, 2)).release(); // 30 messages: f0, the least recently used, goes
  assert.deepEqual(cache.size, { files: 2, docs: 20, pieceBytes: 0 });
  const reopened = await lease(cache, 0);
  assert.notEqual(reopened.seg, first.seg);
  assert.deepEqual(reopened.seg.ids, first.seg.ids);
  reopened.release();
  cache.clear();
});

test("opened pieces past the byte bound are dropped from files no search holds, and open again", async () => {
  const cache = new SegmentCache(100, 3000); // one subject piece is ~2.3 KB here
  const a = await lease(cache, 0);
  const b = await lease(cache, 1);
  assert.deepEqual([...(await a.seg.candidates("subject", "message 3"))].indexOf(1), 3);
  await b.seg.candidates("subject", "message 1");
  assert.ok(cache.size.pieceBytes > 3000, "both held while leased");
  a.release();
  assert.equal(a.seg.heldBytes, 0, "the least recently used let go of its pieces");
  assert.ok(b.seg.heldBytes > 0);
  b.release();
  const again = await lease(cache, 0);
  assert.equal(again.seg, a.seg);
  assert.deepEqual(await again.seg.facts(4).headerValues("subject"), [`message 4 ${"x".repeat(200)}`]);
  again.release();
  cache.clear();
});

test("a file forgotten (merged away) under a search stays readable to it, then is closed", async () => {
  const cache = new SegmentCache(100, 1 << 20);
  const held = await lease(cache, 2);
  cache.forget("f2");
  assert.equal(cache.size.files, 0);
  assert.deepEqual(await held.seg.texts(5), { header: "subject: message 25", body: "body of message 25" });
  held.release();
  await assert.rejects(held.seg.texts(6), /EBADF|bad file/i, "closed once let go");
});
