/**
 * The embedded store forgets deleted rows at compaction (issue 18: every expunged message's meta
 * row and every retired op row left a tombstone in the index and the log for as long as the server
 * ran), and a row written again after that still orders after every token handed out before.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const folders: string[] = [];
async function freshFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agl-tombstones-"));
  folders.push(dir);
  return dir;
}
after(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe("embedded store: deleted rows", () => {
  test("N inserts and deletes leave a log and index bounded after compaction", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    await store.rows.insert("keep", "k", bytes("kept"));
    const sizes: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 500; i++) {
        const sk = `r${round}-${String(i).padStart(4, "0")}`;
        await store.rows.insert("meta", sk, bytes(`value ${sk}`));
        const row = await store.rows.read("meta", sk);
        await store.rows.delete("meta", sk, row!.token);
      }
      await store.rows.compact();
      sizes.push(store.rows.stats().liveBytes);
    }
    // A tombstone record is some 40 bytes: 500 more of them would add 20 KB per round.
    assert.ok(sizes[2]! - sizes[0]! < 1_000, `live bytes grew round after round: ${sizes.join(", ")}`);
    assert.ok(sizes[2]! < 1_000, `live bytes after compaction: ${sizes[2]}`);
    assert.deepEqual((await store.rows.readRange("meta")).items, []);
    assert.equal(await store.rows.read("meta", "r1-0001"), null);
    await store.close();
    store = await openEmbeddedStore(dir);
    assert.equal(text((await store.rows.read("keep", "k"))!.values[0]!), "kept");
    assert.deepEqual((await store.rows.readRange("meta")).items, []);
    await store.close();
  });

  test("a token from before the row was forgotten supersedes nothing written after", async () => {
    const dir = await freshFolder();
    let store = await openEmbeddedStore(dir);
    for (const sk of ["a", "b", "c"]) await store.rows.insert("p", sk, bytes(`old ${sk}`));
    const oldA = (await store.rows.read("p", "a"))!.token;
    // "b" reaches counter 5, so that a store counting it from 0 again would reach 5 soon after.
    for (let i = 0; i < 4; i++) {
      await store.rows.insert("p", "b", bytes(`old b ${i}`), (await store.rows.read("p", "b"))!.token);
    }
    const old = (await store.rows.read("p", "b"))!.token;
    // "c" goes higher still: compaction keeps the highest lone tombstone, and it must not be b's.
    for (let i = 0; i < 8; i++) {
      await store.rows.insert("p", "c", bytes(`old c ${i}`), (await store.rows.read("p", "c"))!.token);
    }
    for (const sk of ["a", "b", "c"])
      await store.rows.delete("p", sk, (await store.rows.read("p", sk))!.token);
    await store.rows.compact();
    // "b" is forgotten (only the highest tombstone, "c", stays). Written again twice, then reopened:
    await store.rows.insert("p", "b", bytes("new 1"));
    await store.rows.insert("p", "b", bytes("new 2"), (await store.rows.read("p", "b"))!.token);
    for (let pass = 0; pass < 2; pass++) {
      // A write with the stale token is a sibling of what was written after, not its replacement.
      await store.rows.insert("p", "b", bytes(`stale ${pass}`), old);
      const row = (await store.rows.read("p", "b"))!;
      assert.deepEqual(row.values.map(text).sort(), ["new 2", `stale ${pass}`]);
      await store.rows.insert("p", "b", bytes("new 2"), row.token);
      await store.rows.compact();
      await store.close();
      store = await openEmbeddedStore(dir);
    }
    // "a", forgotten before the reopens, starts above the floor the reopened log still holds.
    await store.rows.insert("p", "a", bytes("fresh a"));
    await store.rows.insert("p", "a", bytes("stale a"), oldA);
    assert.deepEqual((await store.rows.read("p", "a"))!.values.map(text).sort(), ["fresh a", "stale a"]);
    // A poll with the old token hears the row written again.
    const polled = await store.rows.poll("p", "b", old, 1_000);
    assert.equal(text(polled!.values[0]!), "new 2");
    await store.close();
  });
});
