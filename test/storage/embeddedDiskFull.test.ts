/**
 * A full disk reaches the caller as Unavailable, loses nothing acknowledged, and the store works
 * again once space is freed. Needs a small tmpfs: runs as root (mount), skips otherwise.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Unavailable } from "../../src/errors.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";

let mountPoint: string | undefined;
let mounted = false;

function tryMount(dir: string): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Byte i is i & 0xff, 256 bytes longer than a value: value(n) is a copy of 16 KiB of it from n. */
const PATTERN = Uint8Array.from({ length: 16 * 1024 + 256 }, (_, i) => i & 0xff);
/** 16 KiB whose byte i is (n + i) & 0xff (a function call per byte cost ~0.5 CPU s a run). */
const value = (n: number) => PATTERN.slice(n & 0xff, (n & 0xff) + 16 * 1024);

describe("embedded store: disk full", () => {
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), "agl-embedded-full-"));
    mounted = tryMount(mountPoint);
  });
  after(async () => {
    if (mounted) execFileSync("umount", [mountPoint!]);
    if (mountPoint) await rm(mountPoint, { recursive: true, force: true });
  });

  test("a full disk fails writes with Unavailable and keeps every acknowledged one", async (t) => {
    if (!mounted) return t.skip("needs to mount a 2 MiB tmpfs (root on Linux)");
    const dir = join(mountPoint!, "data");
    let store = await openEmbeddedStore(dir);
    await store.blobs.put("ballast", new Uint8Array(512 * 1024));
    const acked: number[] = [];
    let failure: unknown;
    for (let n = 0; n < 1_000 && failure === undefined; n++) {
      await store.rows.insert("p", `k${n}`, value(n)).then(
        () => acked.push(n),
        (err: unknown) => (failure = err),
      );
    }
    assert.ok(failure instanceof Unavailable, `expected Unavailable, got ${String(failure)}`);
    assert.match(failure.message, /disk is full.*ENOSPC/);
    assert.ok(acked.length > 10);
    for (const n of acked) assert.deepEqual((await store.rows.read("p", `k${n}`))!.values, [value(n)]);

    await assert.rejects(store.blobs.put("too-big", new Uint8Array(1024 * 1024)), /disk is full/);
    assert.equal(await store.blobs.head("too-big"), null);
    assert.deepEqual(
      (await readdir(join(dir, "blobs"))).filter((n) => n.startsWith(".")),
      [],
      "no temp file is left behind",
    );

    await store.blobs.delete("ballast");
    await store.rows.insert("p", "after", value(-1));
    await store.close();
    store = await openEmbeddedStore(dir);
    for (const n of acked) assert.deepEqual((await store.rows.read("p", `k${n}`))!.values, [value(n)]);
    assert.deepEqual((await store.rows.read("p", "after"))!.values, [value(-1)]);
    assert.equal((await store.rows.readRange("p")).items.length, acked.length + 1);
    await store.close();
  });
});
