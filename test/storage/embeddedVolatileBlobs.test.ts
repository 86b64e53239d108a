/**
 * An embedded store with `volatileBlobs` (the local cache's) writes its blobs without fsync, so a
 * crash of the OS may leave a blob torn: after a restart of the system (another boot id) it drops
 * every blob before serving one; in the same boot (only the process died) it keeps them all.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { blobFileName } from "../../src/storage/embedded/blobFileNames.ts";
import { tempDirs } from "../support/tempDirs.ts";

const tempDir = tempDirs("agl-volatile-");
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

async function openIn(dir: string, boot: string | undefined) {
  return openEmbeddedStore(dir, { volatileBlobs: true, bootId: () => Promise.resolve(boot) });
}

describe("embedded store with volatile blobs (the local cache)", () => {
  test("a blob written unsynced in another boot is dropped at open (it may be torn)", async () => {
    const dir = await tempDir();
    const first = await openIn(dir, "boot-a");
    await first.blobs.put("mail/one", bytes("copy of one"));
    await first.close();
    // What a crash of the OS can leave: a renamed file whose bytes never reached the disk.
    await writeFile(join(dir, "blobs", blobFileName("mail/one")), "");

    const second = await openIn(dir, "boot-b");
    assert.equal(await second.blobs.get("mail/one"), null);
    assert.deepEqual((await second.blobs.list("mail/")).keys, []);
    await second.blobs.put("mail/two", bytes("copy of two"));
    await second.close();
    assert.equal((await readFile(join(dir, "blobs-boot"), "utf8")).trim(), "boot-b");

    const third = await openIn(dir, "boot-b");
    assert.equal(text(await third.blobs.get("mail/two")), "copy of two");
    await third.close();
  });

  test("in the same boot (only the process ended) every blob is kept", async () => {
    const dir = await tempDir();
    const first = await openIn(dir, "boot-a");
    await first.blobs.put("mail/one", bytes("copy of one"));
    await first.close();
    const again = await openIn(dir, "boot-a");
    assert.equal(text(await again.blobs.get("mail/one")), "copy of one");
    await again.close();
  });

  test("where the boot cannot be known, blobs are written durably and never dropped", async () => {
    const dir = await tempDir();
    const first = await openIn(dir, undefined);
    await first.blobs.put("mail/one", bytes("copy of one"));
    await first.close();
    const again = await openIn(dir, "boot-b");
    assert.equal(text(await again.blobs.get("mail/one")), "copy of one");
    await again.close();
  });
});
