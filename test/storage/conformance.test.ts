/**
 * One behaviour for every storage backend (DESIGN.md §3): the same tests run against each entry of
 * test/storage/backends.ts. Blob semantics follow S3, row semantics Garage's K2V spec.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Invalid, NotFound } from "../../src/errors.ts";
import type { RowEntry, Store } from "../../src/storage/types.ts";
import { backends } from "./backends.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array): string => dec.decode(b);
/** Sibling values as sorted strings: K2V does not order siblings. */
const valuesOf = (entry: RowEntry | null): string[] => (entry ? entry.values.map(text).sort() : []);
/** The order S3 and K2V list keys in. */
const byteOrder = (keys: string[]): string[] =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keys whose UTF-8 byte order differs from JavaScript's UTF-16 order and from case-folded order. */
const trickyKeys = ["a", "B", "b", "a/b", "a-b", "a~", "é", "\uFFFD", "\u{1F600}", "z", "Z/9", "\uFF21"];

for (const backend of backends) {
  describe(`storage conformance: ${backend.name}`, { skip: backend.skip() }, () => {
    let store: Store;
    let opened: Awaited<ReturnType<typeof backend.open>>;

    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    describe("blobs", () => {
      test("put then get returns the same bytes, and get of an absent key is null", async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        await store.blobs.put("mail/one", all);
        await store.blobs.put("mail/empty", new Uint8Array(0));
        assert.deepEqual(await store.blobs.get("mail/one"), all);
        assert.deepEqual(await store.blobs.get("mail/empty"), new Uint8Array(0));
        assert.equal(await store.blobs.get("mail/absent"), null);
      });

      test("put overwrites an existing blob", async () => {
        await store.blobs.put("k", bytes("first, longer value"));
        await store.blobs.put("k", bytes("second"));
        assert.equal(text((await store.blobs.get("k"))!), "second");
        assert.deepEqual(await store.blobs.head("k"), { size: 6 });
      });

      test("a range returns exactly the bytes from start to end inclusive", async () => {
        await store.blobs.put("r", bytes("0123456789"));
        assert.equal(text((await store.blobs.get("r", { start: 2, end: 5 }))!), "2345");
        assert.equal(text((await store.blobs.get("r", { start: 0, end: 0 }))!), "0");
        assert.equal(text((await store.blobs.get("r", { start: 9, end: 9 }))!), "9");
        assert.equal(text((await store.blobs.get("r", { start: 7 }))!), "789");
      });

      test("a range that runs past the end is clipped; one that starts past it is empty", async () => {
        await store.blobs.put("r", bytes("0123456789"));
        assert.equal(text((await store.blobs.get("r", { start: 8, end: 100 }))!), "89");
        assert.equal((await store.blobs.get("r", { start: 10 }))!.length, 0);
        assert.equal((await store.blobs.get("r", { start: 50, end: 60 }))!.length, 0);
        assert.equal(await store.blobs.get("absent", { start: 0, end: 3 }), null);
      });

      test("a range whose end is before its start is refused with Invalid", async () => {
        await store.blobs.put("r", bytes("0123456789"));
        await assert.rejects(store.blobs.get("r", { start: 5, end: 4 }), Invalid);
      });

      test("a blob of several MiB round-trips whole, by range and by copy", async () => {
        const big = new Uint8Array(3 * 1024 * 1024 + 17);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
        await store.blobs.put("big", big);
        assert.deepEqual(await store.blobs.head("big"), { size: big.length });
        const start = 1024 * 1024 - 5;
        assert.deepEqual(
          await store.blobs.get("big", { start, end: start + 2 * 1024 * 1024 }),
          big.subarray(start, start + 2 * 1024 * 1024 + 1),
        );
        await store.blobs.copy("big", "big2");
        assert.deepEqual(await store.blobs.get("big2"), big);
      });

      test("head gives the size, or null when absent", async () => {
        await store.blobs.put("h", bytes("12345"));
        assert.deepEqual(await store.blobs.head("h"), { size: 5 });
        assert.equal(await store.blobs.head("nope"), null);
      });

      test("delete removes a blob from get, head and list; deleting an absent key is fine", async () => {
        await store.blobs.put("d/1", bytes("x"));
        await store.blobs.put("d/2", bytes("y"));
        await store.blobs.delete("d/1");
        await store.blobs.delete("d/never");
        assert.equal(await store.blobs.get("d/1"), null);
        assert.equal(await store.blobs.head("d/1"), null);
        assert.deepEqual((await store.blobs.list("d/")).keys, ["d/2"]);
      });

      test("keys that differ only in case or by '/' are distinct blobs", async () => {
        const keys = ["Mail/ABC", "mail/abc", "mail/ABC", "mail_abc", "mail-abc", "mail/abc/"];
        for (const k of keys) await store.blobs.put(k, bytes(`value of ${k}`));
        for (const k of keys) assert.equal(text((await store.blobs.get(k))!), `value of ${k}`);
        assert.deepEqual((await store.blobs.list("")).keys, byteOrder(keys));
      });

      test("list returns keys in UTF-8 byte order, non-ASCII keys included", async () => {
        for (const k of trickyKeys) await store.blobs.put(`t/${k}`, bytes(k));
        const listed = await store.blobs.list("t/");
        assert.deepEqual(
          listed.keys,
          byteOrder(trickyKeys).map((k) => `t/${k}`),
        );
        assert.equal(listed.nextStartAfter, undefined);
      });

      test("list keeps to its prefix and starts strictly after startAfter", async () => {
        for (const k of ["a/1", "a/2", "a/3", "a0", "a", "b/1", "A/1"]) await store.blobs.put(k, bytes(k));
        assert.deepEqual((await store.blobs.list("a/")).keys, ["a/1", "a/2", "a/3"]);
        assert.deepEqual((await store.blobs.list("a/", "a/1")).keys, ["a/2", "a/3"]);
        assert.deepEqual((await store.blobs.list("a/", "a/15")).keys, ["a/2", "a/3"]);
        assert.deepEqual((await store.blobs.list("a/", "a")).keys, ["a/1", "a/2", "a/3"]);
        assert.deepEqual((await store.blobs.list("a/", "a/3")).keys, []);
        assert.deepEqual((await store.blobs.list("a/", "b")).keys, []);
        assert.deepEqual((await store.blobs.list("nothing/")).keys, []);
        assert.deepEqual((await store.blobs.list("")).keys, ["A/1", "a", "a/1", "a/2", "a/3", "a0", "b/1"]);
      });

      test("list pages with limit and nextStartAfter through every key of a prefix", async () => {
        const keys = Array.from({ length: 23 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
        for (const k of keys) await store.blobs.put(k, bytes(k));
        await store.blobs.put("q/outside", bytes("x"));
        const seen: string[] = [];
        let startAfter: string | undefined;
        for (let page = 0; page < 20; page++) {
          const listed = await store.blobs.list("p/", startAfter, 5);
          assert.ok(listed.keys.length <= 5);
          seen.push(...listed.keys);
          if (!listed.nextStartAfter) break;
          assert.equal(listed.nextStartAfter, listed.keys[listed.keys.length - 1]);
          startAfter = listed.nextStartAfter;
        }
        assert.deepEqual(seen, keys);
        const exact = await store.blobs.list("p/", keys[17], 5);
        assert.deepEqual(exact.keys, keys.slice(18));
        assert.equal(exact.nextStartAfter, undefined);
      });

      test("a put or delete is visible to the next list", async () => {
        await store.blobs.put("v/1", bytes("1"));
        assert.deepEqual((await store.blobs.list("v/")).keys, ["v/1"]);
        await store.blobs.put("v/0", bytes("0"));
        assert.deepEqual((await store.blobs.list("v/")).keys, ["v/0", "v/1"]);
        await store.blobs.delete("v/1");
        assert.deepEqual((await store.blobs.list("v/")).keys, ["v/0"]);
      });

      test("copy makes an independent copy and overwrites the target; copying an absent key is NotFound", async () => {
        await store.blobs.put("src", bytes("original"));
        await store.blobs.put("dst", bytes("old target"));
        await store.blobs.copy("src", "dst");
        assert.equal(text((await store.blobs.get("dst"))!), "original");
        await store.blobs.put("src", bytes("changed"));
        assert.equal(text((await store.blobs.get("dst"))!), "original");
        assert.equal(text((await store.blobs.get("src"))!), "changed");
        await assert.rejects(store.blobs.copy("absent", "dst2"), NotFound);
        assert.equal(await store.blobs.head("dst2"), null);
        assert.deepEqual((await store.blobs.list("")).keys, ["dst", "src"]);
      });

      test("concurrent puts of different keys all land", async () => {
        const keys = Array.from({ length: 30 }, (_, i) => `c/${i}`);
        await Promise.all(keys.map((k) => store.blobs.put(k, bytes(k))));
        assert.deepEqual((await store.blobs.list("c/")).keys, byteOrder(keys));
        for (const k of keys) assert.equal(text((await store.blobs.get(k))!), k);
      });
    });

    describe("rows", () => {
      test("reading a row that never existed gives null", async () => {
        assert.equal(await store.rows.read("p", "nothing"), null);
      });

      test("an inserted value reads back with a token and no tombstone", async () => {
        await store.rows.insert("p", "s", bytes("v1"));
        const row = await store.rows.read("p", "s");
        assert.ok(row);
        assert.equal(row.sk, "s");
        assert.deepEqual(valuesOf(row), ["v1"]);
        assert.equal(row.hasTombstone, false);
        assert.equal(typeof row.token, "string");
      });

      test("an insert without a token on an existing row adds a sibling", async () => {
        await store.rows.insert("p", "s", bytes("a"));
        await store.rows.insert("p", "s", bytes("b"));
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["a", "b"]);
      });

      test("an insert with a read's token replaces what that read saw, and keeps a sibling written after it", async () => {
        await store.rows.insert("p", "s", bytes("a"));
        await store.rows.insert("p", "s", bytes("b"));
        const seen = await store.rows.read("p", "s");
        await store.rows.insert("p", "s", bytes("concurrent")); // after the read: not covered by its token
        await store.rows.insert("p", "s", bytes("c"), seen!.token);
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["c", "concurrent"]);
        const now = await store.rows.read("p", "s");
        await store.rows.insert("p", "s", bytes("d"), now!.token);
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["d"]);
      });

      test("an insert with a stale token becomes a sibling of the newer value", async () => {
        await store.rows.insert("p", "s", bytes("a"));
        const stale = (await store.rows.read("p", "s"))!.token;
        await store.rows.insert("p", "s", bytes("b"), stale);
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["b"]);
        await store.rows.insert("p", "s", bytes("c"), stale);
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["b", "c"]);
      });

      test("equal concurrent values are one sibling", async () => {
        await store.rows.insert("p", "s", bytes("same"));
        await store.rows.insert("p", "s", bytes("same"));
        const row = await store.rows.read("p", "s");
        assert.deepEqual(row!.values.map(text), ["same"]);
      });

      test("a delete with the token leaves values [] with a token, and the row leaves readRange", async () => {
        await store.rows.insert("p", "gone", bytes("a"));
        await store.rows.insert("p", "kept", bytes("k"));
        const row = await store.rows.read("p", "gone");
        await store.rows.delete("p", "gone", row!.token);
        const after = await store.rows.read("p", "gone");
        assert.ok(after, "a deleted row still reads, with a token");
        assert.deepEqual(after.values, []);
        assert.equal(after.hasTombstone, true);
        assert.equal(typeof after.token, "string");
        assert.deepEqual(
          (await store.rows.readRange("p")).items.map((i) => i.sk),
          ["kept"],
        );
      });

      test("an insert with a deleted row's token gives a single value and no tombstone", async () => {
        await store.rows.insert("p", "s", bytes("a"));
        await store.rows.delete("p", "s", (await store.rows.read("p", "s"))!.token);
        await store.rows.insert("p", "s", bytes("again"), (await store.rows.read("p", "s"))!.token);
        const row = await store.rows.read("p", "s");
        assert.deepEqual(valuesOf(row), ["again"]);
        assert.equal(row!.hasTombstone, false);
        assert.deepEqual(
          (await store.rows.readRange("p")).items.map((i) => i.sk),
          ["s"],
        );
      });

      test("a delete concurrent with an insert leaves the value and a tombstone", async () => {
        await store.rows.insert("p", "s", bytes("a"));
        const seen = (await store.rows.read("p", "s"))!.token;
        await store.rows.insert("p", "s", bytes("b"));
        await store.rows.delete("p", "s", seen);
        const row = await store.rows.read("p", "s");
        assert.deepEqual(valuesOf(row), ["b"]);
        assert.equal(row!.hasTombstone, true);
        assert.deepEqual(
          (await store.rows.readRange("p")).items.map((i) => [i.sk, i.hasTombstone]),
          [["s", true]],
        );
      });

      test("a malformed causality token is refused with Invalid", async () => {
        await store.rows.insert("p", "s", bytes("a"));
        await assert.rejects(
          (async () => store.rows.insert("p", "s", bytes("b"), "not a token!"))(),
          Invalid,
        );
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["a"]);
      });

      test("a row value of 64 KiB with every byte value round-trips", async () => {
        const value = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) & 0xff);
        await store.rows.insert("p", "big", value);
        assert.deepEqual((await store.rows.read("p", "big"))!.values, [value]);
      });

      test("rows with the same sort key in different partitions are separate", async () => {
        await store.rows.insert("p", "s", bytes("in p"));
        await store.rows.insert("pp", "s", bytes("in pp"));
        await store.rows.insert("q", "s", bytes("in q"));
        assert.deepEqual(valuesOf(await store.rows.read("p", "s")), ["in p"]);
        assert.deepEqual(valuesOf(await store.rows.read("pp", "s")), ["in pp"]);
        assert.equal(await store.rows.read("p", "other"), null);
      });
    });

    describe("row ranges", () => {
      const sks = byteOrder(["a", "b/1", "b/2", "b/3", "b0", "c", "é", "\uFFFD", "\u{1F600}", "B"]);

      beforeEach(async () => {
        await store.rows.insertBatch([
          ...sks.map((sk) => ({ pk: "part", sk, value: bytes(`v:${sk}`) })),
          { pk: "part2", sk: "b/x", value: bytes("other partition") },
          { pk: "partX", sk: "a", value: bytes("other partition") },
          { pk: "par", sk: "b/1", value: bytes("other partition") },
        ]);
      });

      const skOf = (items: RowEntry[]) => items.map((i) => i.sk);

      test("readRange lists a partition in UTF-8 byte order with values and tokens, and nothing else", async () => {
        const { items, nextStart } = await store.rows.readRange("part");
        assert.deepEqual(skOf(items), sks);
        assert.equal(nextStart, undefined);
        for (const item of items) {
          assert.deepEqual(valuesOf(item), [`v:${item.sk}`]);
          assert.equal(item.hasTombstone, false);
        }
        // The token of a listed row works like a read's.
        await store.rows.insert("part", "c", bytes("new c"), items.find((i) => i.sk === "c")!.token);
        assert.deepEqual(valuesOf(await store.rows.read("part", "c")), ["new c"]);
      });

      test("readRange of an empty partition is empty", async () => {
        const { items, nextStart } = await store.rows.readRange("nobody");
        assert.deepEqual(items, []);
        assert.equal(nextStart, undefined);
      });

      test("readRange with a prefix, a start (inclusive) and an end (excluded)", async () => {
        assert.deepEqual(skOf((await store.rows.readRange("part", { prefix: "b/" })).items), [
          "b/1",
          "b/2",
          "b/3",
        ]);
        assert.deepEqual(
          skOf((await store.rows.readRange("part", { start: "b/2" })).items),
          sks.slice(sks.indexOf("b/2")),
        );
        assert.deepEqual(skOf((await store.rows.readRange("part", { end: "b0" })).items), [
          "B",
          "a",
          "b/1",
          "b/2",
          "b/3",
        ]);
        assert.deepEqual(skOf((await store.rows.readRange("part", { start: "b/2", end: "c" })).items), [
          "b/2",
          "b/3",
          "b0",
        ]);
        assert.deepEqual(skOf((await store.rows.readRange("part", { prefix: "b/", start: "b/15" })).items), [
          "b/2",
          "b/3",
        ]);
        assert.deepEqual(skOf((await store.rows.readRange("part", { prefix: "b/", end: "b/3" })).items), [
          "b/1",
          "b/2",
        ]);
        assert.deepEqual(skOf((await store.rows.readRange("part", { prefix: "zz" })).items), []);
      });

      test("readRange in reverse starts at start (inclusive) and stops before end", async () => {
        assert.deepEqual(
          skOf((await store.rows.readRange("part", { reverse: true })).items),
          [...sks].reverse(),
        );
        assert.deepEqual(skOf((await store.rows.readRange("part", { reverse: true, start: "b0" })).items), [
          "b0",
          "b/3",
          "b/2",
          "b/1",
          "a",
          "B",
        ]);
        assert.deepEqual(
          skOf((await store.rows.readRange("part", { reverse: true, start: "b0", end: "b/1" })).items),
          ["b0", "b/3", "b/2"],
        );
        assert.deepEqual(skOf((await store.rows.readRange("part", { reverse: true, prefix: "b/" })).items), [
          "b/3",
          "b/2",
          "b/1",
        ]);
      });

      for (const reverse of [false, true]) {
        test(`readRange pages with limit and nextStart through the whole partition${reverse ? " in reverse" : ""}`, async () => {
          const seen: string[] = [];
          let start: string | undefined;
          for (let page = 0; page < 20; page++) {
            const { items, nextStart } = await store.rows.readRange("part", { start, limit: 3, reverse });
            assert.ok(items.length <= 3);
            seen.push(...skOf(items));
            if (nextStart === undefined) break;
            start = nextStart;
          }
          assert.deepEqual(seen, reverse ? [...sks].reverse() : sks);
        });
      }

      test("readRange with a limit that takes the last rows exactly gives no nextStart", async () => {
        const { items, nextStart } = await store.rows.readRange("part", { prefix: "b/", limit: 3 });
        assert.deepEqual(skOf(items), ["b/1", "b/2", "b/3"]);
        assert.equal(nextStart, undefined);
        const cut = await store.rows.readRange("part", { prefix: "b/", limit: 2 });
        assert.deepEqual(skOf(cut.items), ["b/1", "b/2"]);
        assert.equal(cut.nextStart, "b/3");
      });

      test("deleted rows are passed over and not counted by limit", async () => {
        for (const sk of ["b/1", "b/2"]) {
          await store.rows.delete("part", sk, (await store.rows.read("part", sk))!.token);
        }
        const { items, nextStart } = await store.rows.readRange("part", { start: "a", limit: 2 });
        assert.deepEqual(skOf(items), ["a", "b/3"]);
        assert.equal(nextStart, "b0");
      });

      test("deleteRange deletes the live rows of the range, returns how many, and touches nothing else", async () => {
        await store.rows.delete("part", "b/2", (await store.rows.read("part", "b/2"))!.token);
        assert.equal(await store.rows.deleteRange("part", { prefix: "b/" }), 2);
        assert.equal(await store.rows.deleteRange("part", { prefix: "b/" }), 0);
        assert.deepEqual((await store.rows.read("part", "b/1"))!.values, []);
        assert.deepEqual(
          skOf((await store.rows.readRange("part")).items),
          sks.filter((s) => !s.startsWith("b/")),
        );
        assert.equal(await store.rows.deleteRange("part", { start: "c", end: "\uFFFD" }), 2);
        assert.deepEqual(skOf((await store.rows.readRange("part")).items), [
          "B",
          "a",
          "b0",
          "\uFFFD",
          "\u{1F600}",
        ]);
        assert.deepEqual(valuesOf(await store.rows.read("par", "b/1")), ["other partition"]);
        assert.deepEqual(valuesOf(await store.rows.read("part2", "b/x")), ["other partition"]);
        assert.equal(await store.rows.deleteRange("part"), 5);
        assert.deepEqual((await store.rows.readRange("part")).items, []);
        assert.equal((await store.rows.readRange("partX")).items.length, 1);
      });
    });

    describe("row batches", () => {
      test("insertBatch writes values and tombstones across partitions; readBatch answers in the order asked", async () => {
        await store.rows.insert("p", "old", bytes("old"));
        const oldToken = (await store.rows.read("p", "old"))!.token;
        await store.rows.insert("p", "replace", bytes("before"));
        const replaceToken = (await store.rows.read("p", "replace"))!.token;
        await store.rows.insertBatch([
          { pk: "p", sk: "a", value: bytes("A") },
          { pk: "q", sk: "a", value: bytes("qA") },
          { pk: "p", sk: "old", value: null, token: oldToken },
          { pk: "p", sk: "replace", value: bytes("after"), token: replaceToken },
        ]);
        const got = await store.rows.readBatch([
          { pk: "q", sk: "a" },
          { pk: "p", sk: "absent" },
          { pk: "p", sk: "a" },
          { pk: "p", sk: "old" },
          { pk: "p", sk: "replace" },
        ]);
        assert.deepEqual(valuesOf(got[0]!), ["qA"]);
        assert.equal(got[1], null);
        assert.deepEqual(valuesOf(got[2]!), ["A"]);
        assert.deepEqual(got[3]!.values, []);
        assert.equal(got[3]!.hasTombstone, true);
        assert.deepEqual(valuesOf(got[4]!), ["after"]);
      });

      test("an empty insertBatch and an empty readBatch are fine", async () => {
        await store.rows.insertBatch([]);
        assert.deepEqual(await store.rows.readBatch([]), []);
      });
    });

    describe("poll", () => {
      test("poll returns at once when the row already changed past the token", async () => {
        await store.rows.insert("w", "watch", bytes("1"));
        const token = (await store.rows.read("w", "watch"))!.token;
        await store.rows.insert("w", "watch", bytes("2"), token);
        const began = Date.now();
        const row = await store.rows.poll("w", "watch", token, 5_000);
        assert.ok(Date.now() - began < 1_000, "did not wait");
        assert.deepEqual(valuesOf(row), ["2"]);
      });

      test(`poll wakes within ${backend.pollSlackMs} ms of a write by another caller`, async () => {
        await store.rows.insert("w", "watch", bytes("1"));
        const token = (await store.rows.read("w", "watch"))!.token;
        const writer = opened.reopen ? await opened.reopen() : store;
        try {
          let wokeAt = 0;
          const polled = store.rows.poll("w", "watch", token, 5_000).then((row) => {
            wokeAt = Date.now();
            return row;
          });
          await sleep(150);
          assert.equal(wokeAt, 0, "poll returned before any change");
          await writer.rows.insert("w", "watch", bytes("2"), token);
          const writtenAt = Date.now();
          const row = await polled;
          assert.deepEqual(valuesOf(row), ["2"]);
          assert.ok(
            wokeAt - writtenAt <= backend.pollSlackMs,
            `woke ${wokeAt - writtenAt} ms after the write`,
          );
        } finally {
          if (writer !== store) await writer.close();
        }
      });

      test("poll returns null at its timeout, not much earlier, when nothing changes", async () => {
        await store.rows.insert("w", "watch", bytes("1"));
        const token = (await store.rows.read("w", "watch"))!.token;
        const began = Date.now();
        const row = await store.rows.poll("w", "watch", token, 300);
        const waited = Date.now() - began;
        assert.equal(row, null);
        assert.ok(waited >= 280, `returned after ${waited} ms`);
        assert.ok(waited < 300 + 2_000, `returned after ${waited} ms`);
      });

      test("writes to other rows do not wake a poll", async () => {
        await store.rows.insert("w", "watch", bytes("1"));
        const token = (await store.rows.read("w", "watch"))!.token;
        const polled = store.rows.poll("w", "watch", token, 400);
        await store.rows.insert("w", "other", bytes("x"));
        await store.rows.insert("w2", "watch", bytes("x"));
        await store.rows.insert("w", "watch2", bytes("x"));
        assert.equal(await polled, null);
      });

      test("poll without a token waits for the row to be created, and returns at once if it exists", async () => {
        const polled = store.rows.poll("w", "new", undefined, 5_000);
        await sleep(100);
        await store.rows.insert("w", "new", bytes("born"));
        assert.deepEqual(valuesOf(await polled), ["born"]);
        const began = Date.now();
        assert.deepEqual(valuesOf(await store.rows.poll("w", "new", undefined, 5_000)), ["born"]);
        assert.ok(Date.now() - began < 1_000);
      });

      test("poll wakes on a delete, with values [] and a tombstone", async () => {
        await store.rows.insert("w", "watch", bytes("1"));
        const token = (await store.rows.read("w", "watch"))!.token;
        const polled = store.rows.poll("w", "watch", token, 5_000);
        await sleep(50);
        await store.rows.delete("w", "watch", token);
        const row = await polled;
        assert.ok(row);
        assert.deepEqual(row.values, []);
        assert.equal(row.hasTombstone, true);
      });

      test("the token a poll returns is the one to poll with next", async () => {
        await store.rows.insert("w", "watch", bytes("1"));
        let token = (await store.rows.read("w", "watch"))!.token;
        for (let i = 2; i <= 4; i++) {
          const polled = store.rows.poll("w", "watch", token, 5_000);
          await store.rows.insert("w", "watch", bytes(String(i)), token);
          const row = await polled;
          assert.deepEqual(valuesOf(row), [String(i)]);
          token = row!.token;
        }
        assert.equal(await store.rows.poll("w", "watch", token, 100), null);
      });
    });
  });
}
