/**
 * One behaviour for every storage backend (DESIGN.md §3): the same tests run against each entry of
 * test/storage/backends.ts. Blob semantics follow S3, row semantics Garage's K2V spec.
 *
 * Each backend is opened once and shared by all its tests; every test works under a namespace of
 * its own (a unique key prefix, a unique partition key), so a network store can be reused and a
 * test that leaks into another's keys fails here.
 */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
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
/** Added to a backend's poll slack: how late a callback may run on a loaded two-core machine. */
const SCHEDULING_ALLOWANCE_MS = 400;

/** Keys whose UTF-8 byte order differs from JavaScript's UTF-16 order and from case-folded order. */
const trickyKeys = ["a", "B", "b", "a/b", "a-b", "a~", "é", "\uFFFD", "\u{1F600}", "z", "Z/9", "\uFF21"];

/** Unique per run, so that a shared bucket never holds an earlier run's keys under our names. */
const runId = randomBytes(4).toString("hex");

for (const backend of backends) {
  describe(`storage conformance: ${backend.name}`, { skip: backend.skip() }, () => {
    let store: Store;
    let opened: Awaited<ReturnType<typeof backend.open>> | undefined;
    let testNumber = 0;
    /** This test's namespace: ASCII, ends in '/', and no other test's namespace starts with it. */
    let ns = "";
    /** A blob key, or a partition key, inside this test's namespace. */
    const k = (name: string): string => `${ns}${name}`;
    /** The keys of a listing with this test's namespace taken off. */
    const bare = (keys: string[]): string[] =>
      keys.map((key) => {
        assert.ok(key.startsWith(ns), `a key of another test leaked into this one: ${key}`);
        return key.slice(ns.length);
      });

    before(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    after(async () => {
      await opened?.cleanup();
    });
    beforeEach(() => {
      ns = `conf-${runId}-${++testNumber}/`;
    });

    describe("blobs", () => {
      test("put then get returns the same bytes, and get of an absent key is null", async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        await store.blobs.put(k("mail/one"), all);
        await store.blobs.put(k("mail/empty"), new Uint8Array(0));
        assert.deepEqual(await store.blobs.get(k("mail/one")), all);
        assert.deepEqual(await store.blobs.get(k("mail/empty")), new Uint8Array(0));
        assert.deepEqual(await store.blobs.head(k("mail/empty")), { size: 0 });
        assert.equal(await store.blobs.get(k("mail/absent")), null);
      });

      test("put overwrites an existing blob, longer or shorter", async () => {
        await store.blobs.put(k("k"), bytes("first, longer value"));
        await store.blobs.put(k("k"), bytes("second"));
        assert.equal(text((await store.blobs.get(k("k")))!), "second");
        assert.deepEqual(await store.blobs.head(k("k")), { size: 6 });
        await store.blobs.put(k("k"), bytes("third, longer than the second"));
        assert.equal(text((await store.blobs.get(k("k")))!), "third, longer than the second");
        assert.deepEqual(bare((await store.blobs.list(ns)).keys), ["k"]);
      });

      test("the bytes handed to put are copied: changing them afterwards changes nothing stored", async () => {
        const value = bytes("kept as written");
        await store.blobs.put(k("k"), value);
        value.fill(0x21);
        assert.equal(text((await store.blobs.get(k("k")))!), "kept as written");
      });

      test("changing the bytes a get returned changes nothing stored", async () => {
        await store.blobs.put(k("k"), bytes("stored"));
        (await store.blobs.get(k("k")))!.fill(0x21);
        (await store.blobs.get(k("k"), { start: 1, end: 3 }))!.fill(0x21);
        assert.equal(text((await store.blobs.get(k("k")))!), "stored");
      });

      test("a range returns exactly the bytes from start to end inclusive", async () => {
        await store.blobs.put(k("r"), bytes("0123456789"));
        assert.equal(text((await store.blobs.get(k("r"), { start: 2, end: 5 }))!), "2345");
        assert.equal(text((await store.blobs.get(k("r"), { start: 0, end: 0 }))!), "0");
        assert.equal(text((await store.blobs.get(k("r"), { start: 9, end: 9 }))!), "9");
        assert.equal(text((await store.blobs.get(k("r"), { start: 7 }))!), "789");
        assert.equal(text((await store.blobs.get(k("r"), { start: 0 }))!), "0123456789");
      });

      test("a range that runs past the end is clipped; one that starts past it is empty", async () => {
        await store.blobs.put(k("r"), bytes("0123456789"));
        assert.equal(text((await store.blobs.get(k("r"), { start: 8, end: 100 }))!), "89");
        assert.equal(text((await store.blobs.get(k("r"), { start: 0, end: 9 }))!), "0123456789");
        assert.equal((await store.blobs.get(k("r"), { start: 10 }))!.length, 0);
        assert.equal((await store.blobs.get(k("r"), { start: 50, end: 60 }))!.length, 0);
        assert.equal(await store.blobs.get(k("absent"), { start: 0, end: 3 }), null);
      });

      test("a range whose end is before its start, or a negative start, is refused with Invalid", async () => {
        await store.blobs.put(k("r"), bytes("0123456789"));
        await assert.rejects(store.blobs.get(k("r"), { start: 5, end: 4 }), Invalid);
        await assert.rejects(store.blobs.get(k("r"), { start: -1 }), Invalid);
      });

      test("a blob of several MiB round-trips whole, by range and by copy", async () => {
        const big = new Uint8Array(3 * 1024 * 1024 + 17);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
        await store.blobs.put(k("big"), big);
        assert.deepEqual(await store.blobs.head(k("big")), { size: big.length });
        const start = 1024 * 1024 - 5;
        assert.deepEqual(
          await store.blobs.get(k("big"), { start, end: start + 2 * 1024 * 1024 }),
          big.subarray(start, start + 2 * 1024 * 1024 + 1),
        );
        assert.deepEqual(await store.blobs.get(k("big"), { start: big.length - 3 }), big.subarray(-3));
        await store.blobs.copy(k("big"), k("big2"));
        assert.deepEqual(await store.blobs.get(k("big2")), big);
      });

      test("head gives the size, or null when absent", async () => {
        await store.blobs.put(k("h"), bytes("12345"));
        assert.deepEqual(await store.blobs.head(k("h")), { size: 5 });
        assert.equal(await store.blobs.head(k("nope")), null);
      });

      test("delete removes a blob from get, head and list; deleting an absent key is fine", async () => {
        await store.blobs.put(k("d/1"), bytes("x"));
        await store.blobs.put(k("d/2"), bytes("y"));
        await store.blobs.delete(k("d/1"));
        await store.blobs.delete(k("d/never"));
        await store.blobs.delete(k("d/1"));
        assert.equal(await store.blobs.get(k("d/1")), null);
        assert.equal(await store.blobs.head(k("d/1")), null);
        assert.deepEqual(bare((await store.blobs.list(k("d/"))).keys), ["d/2"]);
      });

      test("a deleted key can be written again", async () => {
        await store.blobs.put(k("again"), bytes("one"));
        await store.blobs.delete(k("again"));
        await store.blobs.put(k("again"), bytes("two"));
        assert.equal(text((await store.blobs.get(k("again")))!), "two");
        assert.deepEqual(bare((await store.blobs.list(ns)).keys), ["again"]);
      });

      test("keys that differ only in case or by '/' are distinct blobs", async () => {
        const keys = ["Mail/ABC", "mail/abc", "mail/ABC", "mail_abc", "mail-abc", "mail/abc/", "mail//abc"];
        for (const key of keys) await store.blobs.put(k(key), bytes(`value of ${key}`));
        for (const key of keys) assert.equal(text((await store.blobs.get(k(key)))!), `value of ${key}`);
        assert.deepEqual(bare((await store.blobs.list(ns)).keys), byteOrder(keys));
      });

      test("list returns keys in UTF-8 byte order, non-ASCII keys included, and each reads back", async () => {
        for (const key of trickyKeys) await store.blobs.put(k(`t/${key}`), bytes(key));
        const listed = await store.blobs.list(k("t/"));
        assert.deepEqual(
          bare(listed.keys),
          byteOrder(trickyKeys).map((key) => `t/${key}`),
        );
        assert.equal(listed.nextStartAfter, undefined);
        for (const key of trickyKeys) assert.equal(text((await store.blobs.get(k(`t/${key}`)))!), key);
        // A non-ASCII prefix and startAfter select by bytes too.
        assert.deepEqual(bare((await store.blobs.list(k("t/é"))).keys), ["t/é"]);
        assert.deepEqual(bare((await store.blobs.list(k("t/"), k("t/\uFFFD"))).keys), ["t/\u{1F600}"]);
      });

      test("list keeps to its prefix and starts strictly after startAfter", async () => {
        for (const key of ["a/1", "a/2", "a/3", "a0", "a", "b/1", "A/1"])
          await store.blobs.put(k(key), bytes(key));
        const list = async (prefix: string, startAfter?: string) =>
          bare(
            (await store.blobs.list(k(prefix), startAfter === undefined ? undefined : k(startAfter))).keys,
          );
        assert.deepEqual(await list("a/"), ["a/1", "a/2", "a/3"]);
        assert.deepEqual(await list("a/", "a/1"), ["a/2", "a/3"]);
        assert.deepEqual(await list("a/", "a/15"), ["a/2", "a/3"]);
        assert.deepEqual(await list("a/", "a"), ["a/1", "a/2", "a/3"]);
        assert.deepEqual(await list("a/", "a/3"), []);
        assert.deepEqual(await list("a/", "b"), []);
        assert.deepEqual(await list("nothing/"), []);
        assert.deepEqual(await list("a"), ["a", "a/1", "a/2", "a/3", "a0"]);
        assert.deepEqual(await list(""), ["A/1", "a", "a/1", "a/2", "a/3", "a0", "b/1"]);
        assert.deepEqual(await list("", "a0"), ["b/1"]);
      });

      test("list pages with limit and nextStartAfter through every key of a prefix", async () => {
        const keys = Array.from({ length: 23 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
        await Promise.all(keys.map((key) => store.blobs.put(k(key), bytes(key))));
        await store.blobs.put(k("q/outside"), bytes("x"));
        await store.blobs.put(k("o/before"), bytes("x"));
        const seen: string[] = [];
        let startAfter: string | undefined;
        for (let page = 0; page < 20; page++) {
          const listed = await store.blobs.list(k("p/"), startAfter, 5);
          assert.ok(listed.keys.length <= 5);
          seen.push(...bare(listed.keys));
          if (!listed.nextStartAfter) break;
          assert.equal(listed.nextStartAfter, listed.keys[listed.keys.length - 1]);
          startAfter = listed.nextStartAfter;
        }
        assert.deepEqual(seen, keys);
        const exact = await store.blobs.list(k("p/"), k(keys[17]!), 5);
        assert.deepEqual(bare(exact.keys), keys.slice(18));
        assert.equal(exact.nextStartAfter, undefined);
        const one = await store.blobs.list(k("p/"), undefined, 1);
        assert.deepEqual(bare(one.keys), [keys[0]]);
        assert.equal(one.nextStartAfter, k(keys[0]!));
      });

      test("a put or delete is visible to the next list", async () => {
        await store.blobs.put(k("v/1"), bytes("1"));
        assert.deepEqual(bare((await store.blobs.list(k("v/"))).keys), ["v/1"]);
        await store.blobs.put(k("v/0"), bytes("0"));
        assert.deepEqual(bare((await store.blobs.list(k("v/"))).keys), ["v/0", "v/1"]);
        await store.blobs.delete(k("v/1"));
        assert.deepEqual(bare((await store.blobs.list(k("v/"))).keys), ["v/0"]);
      });

      test("copy makes an independent copy and overwrites the target; copying an absent key is NotFound", async () => {
        await store.blobs.put(k("src"), bytes("original"));
        await store.blobs.put(k("dst"), bytes("old target, longer than the source"));
        await store.blobs.copy(k("src"), k("dst"));
        assert.equal(text((await store.blobs.get(k("dst")))!), "original");
        assert.deepEqual(await store.blobs.head(k("dst")), { size: 8 });
        await store.blobs.put(k("src"), bytes("changed"));
        assert.equal(text((await store.blobs.get(k("dst")))!), "original");
        assert.equal(text((await store.blobs.get(k("src")))!), "changed");
        await store.blobs.delete(k("src"));
        assert.equal(text((await store.blobs.get(k("dst")))!), "original");
        await assert.rejects(store.blobs.copy(k("absent"), k("dst2")), NotFound);
        assert.equal(await store.blobs.head(k("dst2")), null);
        assert.deepEqual(bare((await store.blobs.list(ns)).keys), ["dst"]);
      });

      test("concurrent puts of different keys all land", async () => {
        const keys = Array.from({ length: 30 }, (_, i) => `c/${i}`);
        await Promise.all(keys.map((key) => store.blobs.put(k(key), bytes(key))));
        assert.deepEqual(bare((await store.blobs.list(k("c/"))).keys), byteOrder(keys));
        for (const key of keys) assert.equal(text((await store.blobs.get(k(key)))!), key);
      });
    });

    describe("rows", () => {
      test("reading a row that never existed gives null", async () => {
        assert.equal(await store.rows.read(k("p"), "nothing"), null);
        await store.rows.insert(k("p"), "something", bytes("x"));
        assert.equal(await store.rows.read(k("p"), "nothing"), null);
      });

      test("an inserted value reads back with a token and no tombstone", async () => {
        await store.rows.insert(k("p"), "s", bytes("v1"));
        const row = await store.rows.read(k("p"), "s");
        assert.ok(row);
        assert.equal(row.sk, "s");
        assert.deepEqual(valuesOf(row), ["v1"]);
        assert.equal(row.hasTombstone, false);
        assert.equal(typeof row.token, "string");
      });

      test("the bytes handed to insert are copied: changing them afterwards changes nothing stored", async () => {
        const value = bytes("kept as written");
        await store.rows.insert(k("p"), "s", value);
        value.fill(0x21);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["kept as written"]);
      });

      test("changing the bytes a read returned changes nothing stored", async () => {
        await store.rows.insert(k("p"), "s", bytes("stored"));
        (await store.rows.read(k("p"), "s"))!.values[0]!.fill(0x21);
        (await store.rows.readRange(k("p"))).items[0]!.values[0]!.fill(0x21);
        (await store.rows.readBatch([{ pk: k("p"), sk: "s" }]))[0]!.values[0]!.fill(0x21);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["stored"]);
      });

      test("an insert without a token on an existing row adds a sibling", async () => {
        await store.rows.insert(k("p"), "s", bytes("a"));
        await store.rows.insert(k("p"), "s", bytes("b"));
        const row = await store.rows.read(k("p"), "s");
        assert.deepEqual(valuesOf(row), ["a", "b"]);
        assert.equal(row!.hasTombstone, false);
      });

      test("an insert with a read's token replaces what that read saw, and keeps a sibling written after it", async () => {
        await store.rows.insert(k("p"), "s", bytes("a"));
        await store.rows.insert(k("p"), "s", bytes("b"));
        const seen = await store.rows.read(k("p"), "s");
        await store.rows.insert(k("p"), "s", bytes("concurrent")); // after the read: not covered by its token
        await store.rows.insert(k("p"), "s", bytes("c"), seen!.token);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["c", "concurrent"]);
        const now = await store.rows.read(k("p"), "s");
        await store.rows.insert(k("p"), "s", bytes("d"), now!.token);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["d"]);
      });

      test("an insert with a stale token becomes a sibling of the newer value", async () => {
        await store.rows.insert(k("p"), "s", bytes("a"));
        const stale = (await store.rows.read(k("p"), "s"))!.token;
        await store.rows.insert(k("p"), "s", bytes("b"), stale);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["b"]);
        await store.rows.insert(k("p"), "s", bytes("c"), stale);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["b", "c"]);
      });

      test("two writers that read the same token both keep their value, as siblings", async () => {
        await store.rows.insert(k("p"), "s", bytes("base"));
        const token = (await store.rows.read(k("p"), "s"))!.token;
        await Promise.all([
          store.rows.insert(k("p"), "s", bytes("left"), token),
          store.rows.insert(k("p"), "s", bytes("right"), token),
        ]);
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["left", "right"]);
      });

      test("equal concurrent values are one sibling", async () => {
        await store.rows.insert(k("p"), "s", bytes("same"));
        await store.rows.insert(k("p"), "s", bytes("same"));
        const row = await store.rows.read(k("p"), "s");
        assert.deepEqual(row!.values.map(text), ["same"]);
      });

      test("a delete with the token leaves values [] with a token, and the row leaves readRange", async () => {
        await store.rows.insert(k("p"), "gone", bytes("a"));
        await store.rows.insert(k("p"), "kept", bytes("k"));
        const row = await store.rows.read(k("p"), "gone");
        await store.rows.delete(k("p"), "gone", row!.token);
        const after = await store.rows.read(k("p"), "gone");
        assert.ok(after, "a deleted row still reads, with a token");
        assert.deepEqual(after.values, []);
        assert.equal(after.hasTombstone, true);
        assert.equal(typeof after.token, "string");
        assert.deepEqual(
          (await store.rows.readRange(k("p"))).items.map((i) => i.sk),
          ["kept"],
        );
      });

      test("an insert with a deleted row's token gives a single value and no tombstone", async () => {
        await store.rows.insert(k("p"), "s", bytes("a"));
        await store.rows.delete(k("p"), "s", (await store.rows.read(k("p"), "s"))!.token);
        await store.rows.insert(k("p"), "s", bytes("again"), (await store.rows.read(k("p"), "s"))!.token);
        const row = await store.rows.read(k("p"), "s");
        assert.deepEqual(valuesOf(row), ["again"]);
        assert.equal(row!.hasTombstone, false);
        assert.deepEqual(
          (await store.rows.readRange(k("p"))).items.map((i) => i.sk),
          ["s"],
        );
      });

      test("a delete concurrent with an insert leaves the value and a tombstone", async () => {
        await store.rows.insert(k("p"), "s", bytes("a"));
        const seen = (await store.rows.read(k("p"), "s"))!.token;
        await store.rows.insert(k("p"), "s", bytes("b"));
        await store.rows.delete(k("p"), "s", seen);
        const row = await store.rows.read(k("p"), "s");
        assert.deepEqual(valuesOf(row), ["b"]);
        assert.equal(row!.hasTombstone, true);
        assert.deepEqual(
          (await store.rows.readRange(k("p"))).items.map((i) => [i.sk, valuesOf(i), i.hasTombstone]),
          [["s", ["b"], true]],
        );
        // A write with the token of that read settles both.
        await store.rows.insert(k("p"), "s", bytes("settled"), row!.token);
        const settled = await store.rows.read(k("p"), "s");
        assert.deepEqual(valuesOf(settled), ["settled"]);
        assert.equal(settled!.hasTombstone, false);
      });

      test("a malformed causality token is refused with Invalid", async () => {
        await store.rows.insert(k("p"), "s", bytes("a"));
        await assert.rejects(
          (async () => store.rows.insert(k("p"), "s", bytes("b"), "not a token!"))(),
          Invalid,
        );
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["a"]);
      });

      test("a row value of 64 KiB with every byte value round-trips, as does an empty one", async () => {
        const value = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) & 0xff);
        await store.rows.insert(k("p"), "big", value);
        assert.deepEqual((await store.rows.read(k("p"), "big"))!.values, [value]);
        await store.rows.insert(k("p"), "empty", new Uint8Array(0));
        const empty = await store.rows.read(k("p"), "empty");
        assert.deepEqual(empty!.values, [new Uint8Array(0)]);
        assert.equal(empty!.hasTombstone, false);
      });

      test("rows with the same sort key in different partitions are separate", async () => {
        await store.rows.insert(k("p"), "s", bytes("in p"));
        await store.rows.insert(k("pp"), "s", bytes("in pp"));
        await store.rows.insert(k("q"), "s", bytes("in q"));
        assert.deepEqual(valuesOf(await store.rows.read(k("p"), "s")), ["in p"]);
        assert.deepEqual(valuesOf(await store.rows.read(k("pp"), "s")), ["in pp"]);
        assert.deepEqual(valuesOf(await store.rows.read(k("q"), "s")), ["in q"]);
        assert.equal(await store.rows.read(k("p"), "other"), null);
      });

      test("sort keys with '/', capitals and non-ASCII are distinct rows", async () => {
        for (const sk of trickyKeys) await store.rows.insert(k("p"), sk, bytes(`v:${sk}`));
        for (const sk of trickyKeys)
          assert.deepEqual(valuesOf(await store.rows.read(k("p"), sk)), [`v:${sk}`]);
      });
    });

    describe("row ranges", () => {
      const sks = byteOrder(["a", "b/1", "b/2", "b/3", "b0", "c", "é", "\uFFFD", "\u{1F600}", "B"]);

      beforeEach(async () => {
        await store.rows.insertBatch([
          ...sks.map((sk) => ({ pk: k("part"), sk, value: bytes(`v:${sk}`) })),
          // Partitions whose keys start like, or are a prefix of, "part": none of them may leak in.
          { pk: k("part2"), sk: "b/x", value: bytes("other partition") },
          { pk: k("partX"), sk: "a", value: bytes("other partition") },
          { pk: k("par"), sk: "b/1", value: bytes("other partition") },
          { pk: k("part/"), sk: "b/2", value: bytes("other partition") },
        ]);
      });

      const skOf = (items: RowEntry[]) => items.map((i) => i.sk);

      test("readRange lists a partition in UTF-8 byte order with values and tokens, and nothing else", async () => {
        const { items, nextStart } = await store.rows.readRange(k("part"));
        assert.deepEqual(skOf(items), sks);
        assert.equal(nextStart, undefined);
        for (const item of items) {
          assert.deepEqual(valuesOf(item), [`v:${item.sk}`]);
          assert.equal(item.hasTombstone, false);
        }
        // The token of a listed row works like a read's.
        await store.rows.insert(k("part"), "c", bytes("new c"), items.find((i) => i.sk === "c")!.token);
        assert.deepEqual(valuesOf(await store.rows.read(k("part"), "c")), ["new c"]);
      });

      test("readRange shows a row's siblings and tombstone as read does", async () => {
        const token = (await store.rows.read(k("part"), "c"))!.token;
        await store.rows.insert(k("part"), "a", bytes("second a"));
        await store.rows.insert(k("part"), "c", bytes("new c"));
        await store.rows.delete(k("part"), "c", token);
        const items = (await store.rows.readRange(k("part"), { end: "b/1" })).items;
        assert.deepEqual(
          items.map((i) => [i.sk, valuesOf(i), i.hasTombstone]),
          [
            ["B", ["v:B"], false],
            ["a", ["second a", "v:a"], false],
          ],
        );
        const c = (await store.rows.readRange(k("part"), { start: "c", limit: 1 })).items[0]!;
        assert.deepEqual([c.sk, valuesOf(c), c.hasTombstone], ["c", ["new c"], true]);
        assert.deepEqual(c, await store.rows.read(k("part"), "c"));
      });

      test("readRange of an empty partition is empty", async () => {
        const { items, nextStart } = await store.rows.readRange(k("nobody"));
        assert.deepEqual(items, []);
        assert.equal(nextStart, undefined);
      });

      test("readRange with a prefix, a start (inclusive) and an end (excluded)", async () => {
        const range = async (query: Parameters<Store["rows"]["readRange"]>[1]) =>
          skOf((await store.rows.readRange(k("part"), query)).items);
        assert.deepEqual(await range({ prefix: "b/" }), ["b/1", "b/2", "b/3"]);
        assert.deepEqual(await range({ prefix: "b" }), ["b/1", "b/2", "b/3", "b0"]);
        assert.deepEqual(await range({ start: "b/2" }), sks.slice(sks.indexOf("b/2")));
        assert.deepEqual(await range({ end: "b0" }), ["B", "a", "b/1", "b/2", "b/3"]);
        assert.deepEqual(await range({ start: "b/2", end: "c" }), ["b/2", "b/3", "b0"]);
        assert.deepEqual(await range({ start: "b/25", end: "b0" }), ["b/3"]);
        assert.deepEqual(await range({ start: "c", end: "c" }), []);
        assert.deepEqual(await range({ prefix: "b/", start: "b/15" }), ["b/2", "b/3"]);
        assert.deepEqual(await range({ prefix: "b/", start: "a" }), ["b/1", "b/2", "b/3"]);
        assert.deepEqual(await range({ prefix: "b/", end: "b/3" }), ["b/1", "b/2"]);
        assert.deepEqual(await range({ start: "é" }), ["é", "\uFFFD", "\u{1F600}"]);
        assert.deepEqual(await range({ prefix: "zz" }), []);
      });

      test("readRange in reverse starts at start (inclusive) and stops before end", async () => {
        const range = async (query: Parameters<Store["rows"]["readRange"]>[1]) =>
          skOf((await store.rows.readRange(k("part"), { ...query, reverse: true })).items);
        assert.deepEqual(await range({}), [...sks].reverse());
        assert.deepEqual(await range({ start: "b0" }), ["b0", "b/3", "b/2", "b/1", "a", "B"]);
        assert.deepEqual(await range({ start: "b0", end: "b/1" }), ["b0", "b/3", "b/2"]);
        assert.deepEqual(await range({ prefix: "b/" }), ["b/3", "b/2", "b/1"]);
        assert.deepEqual(await range({ prefix: "b/", limit: 2 }), ["b/3", "b/2"]);
      });

      for (const reverse of [false, true]) {
        for (const limit of [1, 3]) {
          test(`readRange pages with limit ${limit} and nextStart through the whole partition${reverse ? " in reverse" : ""}`, async () => {
            const seen: string[] = [];
            let start: string | undefined;
            for (let page = 0; page < 30; page++) {
              const { items, nextStart } = await store.rows.readRange(k("part"), { start, limit, reverse });
              assert.ok(items.length <= limit);
              seen.push(...skOf(items));
              if (nextStart === undefined) break;
              assert.equal(items.length, limit, "a short page must be the last one");
              start = nextStart;
            }
            assert.deepEqual(seen, reverse ? [...sks].reverse() : sks);
          });
        }
      }

      test("readRange pages within a prefix without leaving it", async () => {
        const seen: string[] = [];
        let start: string | undefined;
        for (let page = 0; page < 10; page++) {
          const { items, nextStart } = await store.rows.readRange(k("part"), {
            prefix: "b",
            start,
            limit: 2,
          });
          seen.push(...skOf(items));
          if (nextStart === undefined) break;
          start = nextStart;
        }
        assert.deepEqual(seen, ["b/1", "b/2", "b/3", "b0"]);
      });

      test("readRange with a limit that takes the last rows exactly gives no nextStart", async () => {
        const { items, nextStart } = await store.rows.readRange(k("part"), { prefix: "b/", limit: 3 });
        assert.deepEqual(skOf(items), ["b/1", "b/2", "b/3"]);
        assert.equal(nextStart, undefined);
        const cut = await store.rows.readRange(k("part"), { prefix: "b/", limit: 2 });
        assert.deepEqual(skOf(cut.items), ["b/1", "b/2"]);
        assert.equal(cut.nextStart, "b/3");
      });

      test("deleted rows are passed over and not counted by limit", async () => {
        for (const sk of ["b/1", "b/2"]) {
          await store.rows.delete(k("part"), sk, (await store.rows.read(k("part"), sk))!.token);
        }
        const { items, nextStart } = await store.rows.readRange(k("part"), { start: "a", limit: 2 });
        assert.deepEqual(skOf(items), ["a", "b/3"]);
        assert.equal(nextStart, "b0");
        const back = await store.rows.readRange(k("part"), { start: "b0", limit: 2, reverse: true });
        assert.deepEqual(skOf(back.items), ["b0", "b/3"]);
        assert.equal(back.nextStart, "a");
      });

      test("deleteRange deletes the live rows of the range, returns how many, and touches nothing else", async () => {
        await store.rows.delete(k("part"), "b/2", (await store.rows.read(k("part"), "b/2"))!.token);
        assert.equal(await store.rows.deleteRange(k("part"), { prefix: "b/" }), 2);
        assert.equal(await store.rows.deleteRange(k("part"), { prefix: "b/" }), 0);
        const b1 = await store.rows.read(k("part"), "b/1");
        assert.deepEqual(b1!.values, []);
        assert.equal(b1!.hasTombstone, true);
        assert.deepEqual(
          skOf((await store.rows.readRange(k("part"))).items),
          sks.filter((s) => !s.startsWith("b/")),
        );
        assert.equal(await store.rows.deleteRange(k("part"), { start: "c", end: "\uFFFD" }), 2);
        assert.deepEqual(skOf((await store.rows.readRange(k("part"))).items), [
          "B",
          "a",
          "b0",
          "\uFFFD",
          "\u{1F600}",
        ]);
        assert.deepEqual(valuesOf(await store.rows.read(k("par"), "b/1")), ["other partition"]);
        assert.deepEqual(valuesOf(await store.rows.read(k("part2"), "b/x")), ["other partition"]);
        assert.deepEqual(valuesOf(await store.rows.read(k("part/"), "b/2")), ["other partition"]);
        assert.equal(await store.rows.deleteRange(k("part")), 5);
        assert.deepEqual((await store.rows.readRange(k("part"))).items, []);
        assert.equal((await store.rows.readRange(k("partX"))).items.length, 1);
        assert.equal(await store.rows.deleteRange(k("nobody")), 0);
      });

      test("a row deleted by deleteRange can be written again with its token", async () => {
        await store.rows.deleteRange(k("part"), { prefix: "c" });
        const c = await store.rows.read(k("part"), "c");
        await store.rows.insert(k("part"), "c", bytes("reborn"), c!.token);
        const reborn = await store.rows.read(k("part"), "c");
        assert.deepEqual(valuesOf(reborn), ["reborn"]);
        assert.equal(reborn!.hasTombstone, false);
        assert.ok(skOf((await store.rows.readRange(k("part"))).items).includes("c"));
      });
    });

    describe("row batches", () => {
      test("insertBatch writes values and tombstones across partitions; readBatch answers in the order asked", async () => {
        await store.rows.insert(k("p"), "old", bytes("old"));
        const oldToken = (await store.rows.read(k("p"), "old"))!.token;
        await store.rows.insert(k("p"), "replace", bytes("before"));
        const replaceToken = (await store.rows.read(k("p"), "replace"))!.token;
        await store.rows.insertBatch([
          { pk: k("p"), sk: "a", value: bytes("A") },
          { pk: k("q"), sk: "a", value: bytes("qA") },
          { pk: k("p"), sk: "old", value: null, token: oldToken },
          { pk: k("p"), sk: "replace", value: bytes("after"), token: replaceToken },
        ]);
        const got = await store.rows.readBatch([
          { pk: k("q"), sk: "a" },
          { pk: k("p"), sk: "absent" },
          { pk: k("p"), sk: "a" },
          { pk: k("p"), sk: "old" },
          { pk: k("p"), sk: "replace" },
          { pk: k("q"), sk: "a" },
        ]);
        assert.equal(got.length, 6);
        assert.deepEqual(valuesOf(got[0]!), ["qA"]);
        assert.equal(got[1], null);
        assert.deepEqual(valuesOf(got[2]!), ["A"]);
        assert.equal(got[2]!.sk, "a");
        assert.deepEqual(got[3]!.values, []);
        assert.equal(got[3]!.hasTombstone, true);
        assert.deepEqual(valuesOf(got[4]!), ["after"]);
        assert.deepEqual(got[5], got[0]);
        // readBatch gives what read gives.
        assert.deepEqual(got[4], await store.rows.read(k("p"), "replace"));
      });

      test("a large insertBatch lands whole and reads back in order", async () => {
        const writes = Array.from({ length: 300 }, (_, i) => ({
          pk: k("many"),
          sk: `row-${String(i).padStart(4, "0")}`,
          value: bytes(`value ${i} `.repeat(10)),
        }));
        await store.rows.insertBatch(writes);
        const { items } = await store.rows.readRange(k("many"));
        assert.deepEqual(
          items.map((i) => [i.sk, text(i.values[0]!)]),
          writes.map((w) => [w.sk, text(w.value)]),
        );
        const batch = await store.rows.readBatch(writes.map(({ pk, sk }) => ({ pk, sk })).reverse());
        assert.deepEqual(
          batch.map((e) => e!.sk),
          writes.map((w) => w.sk).reverse(),
        );
      });

      test("an empty insertBatch and an empty readBatch are fine", async () => {
        await store.rows.insertBatch([]);
        assert.deepEqual(await store.rows.readBatch([]), []);
      });
    });

    describe("poll", () => {
      test("poll returns at once when the row already changed past the token", async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        const token = (await store.rows.read(k("w"), "watch"))!.token;
        await store.rows.insert(k("w"), "watch", bytes("2"), token);
        const began = Date.now();
        const row = await store.rows.poll(k("w"), "watch", token, 5_000);
        assert.ok(Date.now() - began < 1_000, "did not wait");
        assert.deepEqual(valuesOf(row), ["2"]);
      });

      // The point is that a write wakes the poll, long before its 5 s timeout. The bound adds a
      // scheduling allowance to the backend's own slack: `npm test` runs six files at once on two
      // cores, and a timer or socket callback there can be late by more than the slack (CI once saw
      // 106 ms against 100).
      const wakeBoundMs = backend.pollSlackMs + SCHEDULING_ALLOWANCE_MS;
      test(`poll wakes within ${wakeBoundMs} ms of a write by another caller`, async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        const token = (await store.rows.read(k("w"), "watch"))!.token;
        const writer = opened!.reopen ? await opened!.reopen() : store;
        try {
          let wokeAt = 0;
          const polled = store.rows.poll(k("w"), "watch", token, 5_000).then((row) => {
            wokeAt = Date.now();
            return row;
          });
          await sleep(150);
          assert.equal(wokeAt, 0, "poll returned before any change");
          await writer.rows.insert(k("w"), "watch", bytes("2"), token);
          const writtenAt = Date.now();
          const row = await polled;
          assert.deepEqual(valuesOf(row), ["2"]);
          assert.ok(wokeAt - writtenAt <= wakeBoundMs, `woke ${wokeAt - writtenAt} ms after the write`);
          assert.deepEqual(row, await store.rows.read(k("w"), "watch"));
        } finally {
          if (writer !== store) await writer.close();
        }
      });

      test("poll returns null at its timeout, not much earlier, when nothing changes", async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        const token = (await store.rows.read(k("w"), "watch"))!.token;
        const began = Date.now();
        const row = await store.rows.poll(k("w"), "watch", token, 300);
        const waited = Date.now() - began;
        assert.equal(row, null);
        assert.ok(waited >= 280, `returned after ${waited} ms`);
        assert.ok(waited < 300 + 2_000, `returned after ${waited} ms`);
      });

      test("writes to other rows do not wake a poll", async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        const token = (await store.rows.read(k("w"), "watch"))!.token;
        const polled = store.rows.poll(k("w"), "watch", token, 400);
        await store.rows.insert(k("w"), "other", bytes("x"));
        await store.rows.insert(k("w2"), "watch", bytes("x"));
        await store.rows.insert(k("w"), "watch2", bytes("x"));
        assert.equal(await polled, null);
      });

      test("poll without a token waits for the row to be created, and returns at once if it exists", async () => {
        const polled = store.rows.poll(k("w"), "new", undefined, 5_000);
        await sleep(100);
        await store.rows.insert(k("w"), "new", bytes("born"));
        assert.deepEqual(valuesOf(await polled), ["born"]);
        const began = Date.now();
        assert.deepEqual(valuesOf(await store.rows.poll(k("w"), "new", undefined, 5_000)), ["born"]);
        assert.ok(Date.now() - began < 1_000);
      });

      test("poll without a token on a row that never comes returns null at its timeout", async () => {
        const began = Date.now();
        assert.equal(await store.rows.poll(k("w"), "never", undefined, 250), null);
        assert.ok(Date.now() - began >= 230);
      });

      test("poll wakes on a delete, with values [] and a tombstone", async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        const token = (await store.rows.read(k("w"), "watch"))!.token;
        const polled = store.rows.poll(k("w"), "watch", token, 5_000);
        await sleep(50);
        await store.rows.delete(k("w"), "watch", token);
        const row = await polled;
        assert.ok(row);
        assert.deepEqual(row.values, []);
        assert.equal(row.hasTombstone, true);
      });

      test("several polls on one row all wake on one write", async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        const token = (await store.rows.read(k("w"), "watch"))!.token;
        const polls = Array.from({ length: 5 }, () => store.rows.poll(k("w"), "watch", token, 5_000));
        await sleep(50);
        await store.rows.insert(k("w"), "watch", bytes("2"), token);
        for (const row of await Promise.all(polls)) assert.deepEqual(valuesOf(row), ["2"]);
      });

      test("the token a poll returns is the one to poll with next", async () => {
        await store.rows.insert(k("w"), "watch", bytes("1"));
        let token = (await store.rows.read(k("w"), "watch"))!.token;
        for (let i = 2; i <= 4; i++) {
          const polled = store.rows.poll(k("w"), "watch", token, 5_000);
          // As in the tests above: the poll is under way before the write. A write sent in the
          // same instant as the poll was, three times in many runs on Garage, never seen by that
          // poll (bench/notes.md, session 11): a race at the start of a poll, not this test's
          // question (which token to poll with next).
          await sleep(50);
          await store.rows.insert(k("w"), "watch", bytes(String(i)), token);
          const row = await polled;
          assert.deepEqual(valuesOf(row), [String(i)]);
          token = row!.token;
        }
        assert.equal(await store.rows.poll(k("w"), "watch", token, 100), null);
      });
    });

    describe("closing", () => {
      test("close ends a pending poll at once, with null, so no timer outlives the store", async () => {
        const own = await backend.open();
        try {
          await own.store.rows.insert(k("w"), "watch", bytes("1"));
          const token = (await own.store.rows.read(k("w"), "watch"))!.token;
          const polled = own.store.rows.poll(k("w"), "watch", token, 60_000);
          await sleep(50);
          const began = Date.now();
          await own.store.close();
          assert.equal(await polled, null);
          assert.ok(Date.now() - began < 2_000, `the poll ended ${Date.now() - began} ms after close`);
        } finally {
          await own.cleanup();
        }
      });
    });
  });
}
