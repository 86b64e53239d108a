/**
 * The local cache drops copies beyond MAX_PENDING_FILLS waiting to be written; a caller about to
 * read many rows (mail/metaAhead.ts) waits for room first, so the disk sets its pace and no copy
 * is dropped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CacheWriter, MAX_PENDING_FILLS } from "../../src/storage/cache/cacheWriter.ts";

const tick = () => new Promise((r) => setImmediate(r));

test("room for more fills comes once enough waiting copies are written", async () => {
  const writer = new CacheWriter("test");
  const release: (() => void)[] = [];
  const fills = Array.from({ length: MAX_PENDING_FILLS - 100 }, (_, i) => writer.begin(`r${i}`)!);
  assert.ok(fills.every((f) => f !== undefined));
  let roomy = false;
  void writer.roomFor(200).then(() => (roomy = true));
  await tick();
  assert.equal(roomy, false, "room promised while the queue could not take 200 more");
  const written = fills
    .slice(0, 99)
    .map((f) => writer.finish(f, () => new Promise<void>((go) => release.push(go))));
  await tick();
  release.splice(0).forEach((go) => go());
  await Promise.all(written);
  assert.equal(roomy, false, "one copy short of room");
  await writer.finish(fills[99]!, async () => {});
  await tick();
  assert.equal(roomy, true);
  // What roomFor promised holds: 200 more fills begin, none dropped.
  assert.ok(Array.from({ length: 200 }, (_, i) => writer.begin(`s${i}`)).every((f) => f !== undefined));
  assert.equal(writer.begin("one-too-many"), undefined);
});

test("a cache that stopped working has room at once: its callers go to the remote only", async () => {
  const writer = new CacheWriter("test");
  for (let i = 0; i < MAX_PENDING_FILLS; i++) writer.begin(`r${i}`);
  let roomy = false;
  const waiting = writer.roomFor(10).then(() => (roomy = true));
  await tick();
  assert.equal(roomy, false);
  writer.fail("write a copy", new Error("disk gone"));
  await waiting;
  assert.equal(roomy, true);
});
