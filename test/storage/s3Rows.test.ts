/**
 * The s3 backend's row scheme (src/storage/s3/objectRowStore.ts) beyond the conformance suite:
 * what it leaves in the bucket, and reads that race a concurrent collection. Over in-memory
 * objects, so every step is visible and deterministic; the same code runs over S3 in conformance.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Invalid } from "../../src/errors.ts";
import { MemoryBlobStore } from "../../src/storage/memoryStore.ts";
import { ObjectRowStore } from "../../src/storage/s3/index.ts";
import { rowPrefix } from "../../src/storage/s3/rowObjects.ts";
import type { ByteRange } from "../../src/storage/types.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test("superseded versions are deleted: a row rewritten 20 times with its token is one object", async () => {
  const objects = new MemoryBlobStore();
  const rows = new ObjectRowStore(objects);
  await rows.insert("p", "s", bytes("0"));
  for (let i = 1; i <= 20; i++) {
    const { token } = (await rows.read("p", "s"))!;
    await rows.insert("p", "s", bytes(String(i)), token);
  }
  await rows.close(); // waits for the collections started
  assert.equal((await objects.list(rowPrefix("p", "s"))).keys.length, 1);
  assert.deepEqual((await new ObjectRowStore(objects).read("p", "s"))!.values.map(text), ["20"]);
});

test("a delete leaves one tombstone object, so the deleted row still reads with a token", async () => {
  const objects = new MemoryBlobStore();
  const rows = new ObjectRowStore(objects);
  await rows.insert("p", "s", bytes("a"));
  await rows.insert("p", "s", bytes("b"));
  await rows.delete("p", "s", (await rows.read("p", "s"))!.token);
  await rows.close();
  assert.equal((await objects.list(rowPrefix("p", "s"))).keys.length, 1);
  const row = await new ObjectRowStore(objects).read("p", "s");
  assert.deepEqual(row?.values, []);
  assert.equal(row?.hasTombstone, true);
});

test("leftover superseded versions (a writer that died before collecting) are ignored, then collected by a reader", async () => {
  const objects = new MemoryBlobStore();
  const writer = new ObjectRowStore(objects);
  await writer.insert("p", "s", bytes("old"));
  const { token } = (await writer.read("p", "s"))!;
  const [oldName] = (await objects.list(rowPrefix("p", "s"))).keys;
  const oldBytes = (await objects.get(oldName!))!;
  await writer.insert("p", "s", bytes("new"), token);
  await writer.close();
  await objects.put(oldName!, oldBytes); // as if its deletion never happened
  const reader = new ObjectRowStore(objects);
  assert.deepEqual((await reader.read("p", "s"))!.values.map(text), ["new"]);
  await reader.close();
  assert.equal((await objects.list(rowPrefix("p", "s"))).keys.length, 1);
});

test("a read that lists a version another process collects before it is fetched lists the row again", async () => {
  const objects = new MemoryBlobStore();
  const writer = new ObjectRowStore(objects);
  await writer.insert("p", "s", bytes("first"));
  const { token } = (await writer.read("p", "s"))!;
  // The reader's first fetch happens after the writer replaced and collected the listed version.
  let raced = false;
  const racing = Object.assign(Object.create(objects) as MemoryBlobStore, {
    get: async (key: string, range?: ByteRange) => {
      if (!raced) {
        raced = true;
        await writer.insert("p", "s", bytes("second"), token);
        await writer.close();
      }
      return objects.get(key, range);
    },
  });
  const reader = new ObjectRowStore(racing);
  const row = await reader.read("p", "s");
  assert.ok(raced);
  assert.deepEqual(row!.values.map(text), ["second"]);
});

test("two processes writing with the same token both keep their value, and the next write with the read's token settles them", async () => {
  const objects = new MemoryBlobStore();
  const [a, b] = [new ObjectRowStore(objects), new ObjectRowStore(objects)];
  await a.insert("p", "s", bytes("base"));
  const { token } = (await a.read("p", "s"))!;
  await Promise.all([a.insert("p", "s", bytes("from a"), token), b.insert("p", "s", bytes("from b"), token)]);
  const both = (await b.read("p", "s"))!;
  assert.deepEqual(both.values.map(text).sort(), ["from a", "from b"]);
  await a.insert("p", "s", bytes("merged"), both.token);
  await Promise.all([a.close(), b.close()]);
  assert.deepEqual((await new ObjectRowStore(objects).read("p", "s"))!.values.map(text), ["merged"]);
  assert.equal((await objects.list(rowPrefix("p", "s"))).keys.length, 1);
});

test("a K2V token, or any other backend's, is refused with Invalid", async () => {
  const rows = new ObjectRowStore(new MemoryBlobStore());
  for (const foreign of ["AAAAAAAAAAA", "c1", "s1.abc", "s1.!!"])
    await assert.rejects(rows.insert("p", "s", bytes("x"), foreign), Invalid, foreign);
});
