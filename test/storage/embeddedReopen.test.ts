/**
 * The embedded store keeps what it acknowledged across close and reopen, cuts a torn log tail, and
 * compacts without losing anything.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  appendFile,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Invalid } from "../../src/errors.ts";
import { openEmbeddedStore, type EmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import type { RowEntry } from "../../src/storage/types.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const valuesOf = (e: RowEntry | null) => (e ? e.values.map(text).sort() : []);

const folders: string[] = [];
async function freshFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agl-embedded-"));
  folders.push(dir);
  return dir;
}
after(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** Everything a store holds, as plain data, for before/after comparisons. */
async function snapshot(store: EmbeddedStore, partitions: string[]) {
  const rows: Record<string, [string, string[], boolean, string][]> = {};
  for (const pk of partitions) {
    const all: RowEntry[] = [];
    let start: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const r = await store.rows.readRange(pk, { start, limit: 100 });
      all.push(...r.items);
      if (r.nextStart === undefined) break;
      start = r.nextStart;
    }
    rows[pk] = all.map((e) => [e.sk, valuesOf(e), e.hasTombstone, e.token]);
  }
  const blobs: Record<string, string> = {};
  for (const key of (await store.blobs.list("")).keys) blobs[key] = text((await store.blobs.get(key))!);
  return { rows, blobs };
}

describe("embedded store: reopening", () => {
  test("rows, siblings, tombstones, tokens and blobs survive close and reopen", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    await store.rows.insert("p", "siblings", bytes("a"));
    await store.rows.insert("p", "siblings", bytes("b"));
    await store.rows.insert("p", "deleted", bytes("x"));
    await store.rows.delete("p", "deleted", (await store.rows.read("p", "deleted"))!.token);
    await store.rows.insert("p", "half", bytes("old"));
    const halfToken = (await store.rows.read("p", "half"))!.token;
    await store.rows.insert("p", "half", bytes("new"));
    await store.rows.delete("p", "half", halfToken);
    await store.blobs.put("Mail/ü/1", bytes("body"));
    const before = await snapshot(store, ["p"]);
    const sibToken = (await store.rows.read("p", "siblings"))!.token;
    await store.close();

    store = await openEmbeddedStore(dir);
    assert.deepEqual(await snapshot(store, ["p"]), before);
    const deleted = await store.rows.read("p", "deleted");
    assert.deepEqual(deleted!.values, []);
    assert.equal(deleted!.hasTombstone, true);
    // A token read before the restart still means what it meant.
    await store.rows.insert("p", "siblings", bytes("merged"), sibToken);
    assert.deepEqual(valuesOf(await store.rows.read("p", "siblings")), ["merged"]);
    await store.close();

    store = await openEmbeddedStore(dir);
    assert.deepEqual(valuesOf(await store.rows.read("p", "siblings")), ["merged"]);
    assert.equal(text((await store.blobs.get("Mail/ü/1"))!), "body");
    await store.close();
  });

  test("operations on a closed store fail with Unavailable; closing twice is fine", async () => {
    const store = await openEmbeddedStore(await freshFolder());
    await store.close();
    await store.close();
    await assert.rejects(store.rows.read("p", "s"), { code: "UNAVAILABLE" });
    await assert.rejects(store.rows.insert("p", "s", bytes("v")), { code: "UNAVAILABLE" });
    await assert.rejects(store.blobs.get("k"), { code: "UNAVAILABLE" });
  });

  test("writes in flight when close is called are finished, not dropped", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    const writes = Array.from({ length: 50 }, (_, i) => store.rows.insert("p", `k${i}`, bytes(`v${i}`)));
    await store.close();
    await Promise.all(writes);
    store = await openEmbeddedStore(dir);
    assert.equal((await store.rows.readRange("p")).items.length, 50);
    await store.close();
  });

  test("a poll pending at close ends with null; a poll on the next handle hears that handle's writes", async () => {
    const dir = await freshFolder();
    const first = await openEmbeddedStore(dir);
    await first.rows.insert("w", "watch", bytes("1"));
    const token = (await first.rows.read("w", "watch"))!.token;
    const pending = first.rows.poll("w", "watch", token, 60_000);
    await first.close();
    assert.equal(await pending, null);
    const second = await openEmbeddedStore(dir);
    const polled = second.rows.poll("w", "watch", token, 5_000);
    await second.rows.insert("w", "watch", bytes("2"), token);
    assert.deepEqual(valuesOf(await polled), ["2"]);
    await second.close();
  });

  test("temp files left by a crash are removed at open and never listed; stray files are ignored", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    await store.blobs.put("real", bytes("r"));
    await store.close();
    await writeFile(join(dir, "blobs", ".tmp-0123456789abcdef"), "half a blob");
    await writeFile(join(dir, "blobs", "README.txt"), "someone's note");
    store = await openEmbeddedStore(dir);
    assert.deepEqual((await store.blobs.list("")).keys, ["real"]);
    assert.ok(!(await readdir(join(dir, "blobs"))).includes(".tmp-0123456789abcdef"));
    await store.close();
  });

  test("a blob key too long for a file name is refused with Invalid", async () => {
    const store = await openEmbeddedStore(await freshFolder());
    await assert.rejects(store.blobs.put("K".repeat(100), bytes("x")), Invalid);
    await store.blobs.put("k".repeat(255), bytes("fits"));
    assert.equal(text((await store.blobs.get("k".repeat(255)))!), "fits");
    await store.close();
  });
});

describe("embedded store: torn log tail", () => {
  async function storeWithRows(dir: string, n: number): Promise<void> {
    const store = await openEmbeddedStore(dir);
    for (let i = 0; i < n; i++) await store.rows.insert("p", `k${i}`, bytes(`value ${i}`));
    await store.close();
  }

  test("garbage appended to the log is cut off; earlier rows read and new writes survive", async () => {
    const dir = await freshFolder();
    await storeWithRows(dir, 10);
    const goodSize = (await stat(join(dir, "rows.log"))).size;
    const garbage = Buffer.from("\x00\x00\x01\x00garbage that is not a record");
    await appendFile(join(dir, "rows.log"), garbage);
    let store = await openEmbeddedStore(dir);
    assert.equal((await stat(join(dir, "rows.log"))).size, goodSize);
    const cut = store.rows.stats().cutAtOpen;
    assert.deepEqual([cut?.offset, cut?.bytes], [goodSize, garbage.length]);
    assert.deepEqual(
      await readFile(join(dir, cut!.savedAs)),
      garbage,
      "the cut bytes are kept beside the log",
    );
    assert.deepEqual(valuesOf(await store.rows.read("p", "k9")), ["value 9"]);
    await store.rows.insert("p", "after", bytes("written after the cut"));
    await store.close();
    store = await openEmbeddedStore(dir);
    assert.equal((await store.rows.readRange("p")).items.length, 11);
    assert.deepEqual(valuesOf(await store.rows.read("p", "after")), ["written after the cut"]);
    await store.close();
  });

  test("a log cut in the middle of its last record loses only that record", async () => {
    const dir = await freshFolder();
    await storeWithRows(dir, 10);
    const size = (await stat(join(dir, "rows.log"))).size;
    await truncate(join(dir, "rows.log"), size - 3);
    const store = await openEmbeddedStore(dir);
    assert.equal(await store.rows.read("p", "k9"), null);
    assert.deepEqual(valuesOf(await store.rows.read("p", "k8")), ["value 8"]);
    await store.rows.insert("p", "k9", bytes("again"));
    assert.deepEqual(valuesOf(await store.rows.read("p", "k9")), ["again"]);
    await store.close();
  });

  test("a last record with a flipped byte fails its CRC and is cut off", async () => {
    const dir = await freshFolder();
    await storeWithRows(dir, 5);
    const fh = await open(join(dir, "rows.log"), "r+");
    const { size } = await fh.stat();
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 2);
    last[0]! ^= 0x40;
    await fh.write(last, 0, 1, size - 2);
    await fh.close();
    const store = await openEmbeddedStore(dir);
    assert.equal(await store.rows.read("p", "k4"), null);
    assert.deepEqual(valuesOf(await store.rows.read("p", "k3")), ["value 3"]);
    await store.close();
  });

  test("a damaged record mid-log cuts off what follows, but the cut bytes are kept for inspection", async () => {
    const dir = await freshFolder();
    await storeWithRows(dir, 10);
    const log = await readFile(join(dir, "rows.log"));
    // Damage the value of k4 (each record ends with its value, "value N").
    const at = log.indexOf("value 4");
    await writeFile(
      join(dir, "rows.log"),
      Buffer.concat([log.subarray(0, at), Buffer.from("VALUE 4"), log.subarray(at + 7)]),
    );
    let store = await openEmbeddedStore(dir);
    assert.deepEqual(valuesOf(await store.rows.read("p", "k3")), ["value 3"]);
    assert.equal(await store.rows.read("p", "k5"), null);
    const cut = store.rows.stats().cutAtOpen!;
    assert.ok(cut.offset < at && cut.bytes === log.length - cut.offset);
    assert.deepEqual(
      await readFile(join(dir, cut.savedAs)),
      Buffer.concat([log.subarray(cut.offset, at), Buffer.from("VALUE 4"), log.subarray(at + 7)]),
    );
    await store.close();
    store = await openEmbeddedStore(dir);
    assert.equal(store.rows.stats().cutAtOpen, undefined, "a clean open cuts nothing");
    await store.close();
  });

  test("a file that is not a row log is refused with Unavailable, not overwritten", async () => {
    const dir = await freshFolder();
    await writeFile(join(dir, "rows.log"), "something else entirely");
    await assert.rejects(openEmbeddedStore(dir), /not an aerogramme-local row log/);
    assert.equal(text(new Uint8Array(await readFile(join(dir, "rows.log")))), "something else entirely");
  });
});

describe("embedded store: compaction", () => {
  /** Rows rewritten many times (dead records), with siblings, tombstones and concurrent deletes. */
  async function churn(store: EmbeddedStore, rounds: number): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 40; i++) {
        const sk = `row-${String(i).padStart(3, "0")}`;
        const row = await store.rows.read("churn", sk);
        const value = bytes(`${sk} round ${round} `.repeat(20));
        if (i % 10 === 3)
          await store.rows.insert("churn", sk, value); // grows siblings
        else if (i % 10 === 7 && round % 2 === 1) await store.rows.delete("churn", sk, row!.token);
        else await store.rows.insert("churn", sk, value, row?.token);
      }
    }
    const w = await store.rows.read("churn", "row-005");
    await store.rows.insert("churn", "row-005", bytes("concurrent"));
    await store.rows.delete("churn", "row-005", w!.token); // tombstone beside a live value
  }

  test("compaction shrinks the log and keeps every row, sibling, tombstone and token", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    await churn(store, 12);
    const before = await snapshot(store, ["churn"]);
    const deletedBefore = await store.rows.read("churn", "row-007");
    const sizeBefore = (await stat(join(dir, "rows.log"))).size;
    await store.rows.compact();
    const sizeAfter = (await stat(join(dir, "rows.log"))).size;
    assert.ok(sizeAfter < sizeBefore / 2, `log went from ${sizeBefore} to ${sizeAfter} bytes`);
    assert.equal(store.rows.stats().logBytes, sizeAfter);
    assert.equal(store.rows.stats().liveBytes, sizeAfter);
    assert.deepEqual(await snapshot(store, ["churn"]), before);
    assert.deepEqual(await store.rows.read("churn", "row-007"), deletedBefore);
    await store.rows.insert("churn", "row-000", bytes("after compaction"), before.rows.churn![0]![3]);
    await store.close();

    store = await openEmbeddedStore(dir);
    const reopened = await snapshot(store, ["churn"]);
    assert.deepEqual(reopened.rows.churn!.slice(1), before.rows.churn!.slice(1));
    assert.deepEqual(valuesOf(await store.rows.read("churn", "row-000")), ["after compaction"]);
    assert.deepEqual(await store.rows.read("churn", "row-007"), deletedBefore);
    await store.close();
  });

  test("writes and reads during compaction are neither lost nor wrong", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    await churn(store, 8);
    const compacting = store.rows.compact();
    const writes: Promise<void>[] = [];
    const reads: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      writes.push(store.rows.insert("during", `k${String(i).padStart(3, "0")}`, bytes(`v${i}`)));
      reads.push(
        store.rows.read("churn", "row-001").then((r) => {
          assert.equal(valuesOf(r).length, 1);
          assert.match(valuesOf(r)[0]!, /^row-001 round 7 /);
        }),
      );
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([compacting, ...writes, ...reads]);
    const expected = await snapshot(store, ["churn", "during"]);
    assert.equal(expected.rows.during!.length, 200);
    await store.close();
    store = await openEmbeddedStore(dir);
    assert.deepEqual(await snapshot(store, ["churn", "during"]), expected);
    await store.close();
  });

  test("writes held back by compaction that keep older siblings read those siblings at their new place", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    await churn(store, 8);
    const sks = Array.from({ length: 40 }, (_, i) => `row-${String(i).padStart(3, "0")}`);
    const before = new Map<string, string[]>();
    for (const sk of sks) before.set(sk, valuesOf(await store.rows.read("churn", sk)));
    const compacting = store.rows.compact();
    const writes: Promise<void>[] = [];
    for (const [i, sk] of sks.entries()) {
      // No token: the new value is a sibling of every value the row holds, which stay where they are.
      writes.push(store.rows.insert("churn", sk, bytes(`sibling ${sk}`)));
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([compacting, ...writes]);
    const check = async (s: EmbeddedStore) => {
      for (const sk of sks) {
        const want = [...before.get(sk)!, `sibling ${sk}`].sort();
        assert.deepEqual(valuesOf(await s.rows.read("churn", sk)), want, sk);
      }
    };
    await check(store);
    await store.close();
    store = await openEmbeddedStore(dir);
    await check(store);
    await store.close();
  });

  test("the store compacts by itself once dead bytes dominate", async () => {
    const dir = await freshFolder();
    const store = await openEmbeddedStore(dir, { compactMinDeadBytes: 32 * 1024 });
    let largest = 0;
    let written = 0;
    for (let i = 0; i < 400; i++) {
      const row = await store.rows.read("auto", "one");
      const value = bytes(`version ${i} `.repeat(30));
      written += value.length;
      await store.rows.insert("auto", "one", value, row?.token);
      largest = Math.max(largest, store.rows.stats().logBytes);
    }
    await store.close();
    const size = (await stat(join(dir, "rows.log"))).size;
    assert.ok(written > 100 * 1024, `wrote ${written} bytes of values`);
    assert.ok(largest < 48 * 1024, `log reached ${largest} bytes`);
    assert.ok(size < 48 * 1024, `log is ${size} bytes after 400 rewrites of one row`);
    const again = await openEmbeddedStore(dir);
    assert.match(valuesOf(await again.rows.read("auto", "one"))[0]!, /^version 399 /);
    await again.close();
  });
});
