/**
 * A cache fill killed with SIGKILL mid-way leaves a cache that opens, holds only exact copies of
 * the remote's objects, and is completed by the next fill. Both stores are embedded folders (the
 * cache is one in every real set-up), the remote slowed down in the child so the kill lands while
 * bodies are being fetched and written.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { CACHEABLE } from "../../src/mail/messageLayout.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { sampleMessage } from "./mailFixtures.ts";
import { tsNodeArgs } from "../support/tsChild.ts";

const PASSWORD = "correct horse battery";
const COUNT = 60;
let dir: string;
let childPid: number | undefined;
after(async () => {
  if (childPid !== undefined)
    try {
      process.kill(childPid, "SIGKILL");
    } catch {
      // already gone
    }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the child until its fill has cached `atLeast` bodies, then kills it with SIGKILL. */
async function fillAndKill(remoteDir: string, cacheDir: string, atLeast: number): Promise<number> {
  const child = spawn(
    process.execPath,
    [...tsNodeArgs(join(import.meta.dirname, "cacheFillChild.ts")), remoteDir, cacheDir, PASSWORD],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  childPid = child.pid;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, s) => resolve(s)));
  let seen = 0;
  let buffered = "";
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const m = /^bodies (\d+)$/.exec(line);
      if (m) seen = Number(m[1]);
      if (seen >= atLeast || line === "done") child.kill("SIGKILL");
    }
  });
  const signal = await exited;
  clearTimeout(killer);
  childPid = undefined;
  assert.equal(signal, "SIGKILL", `the child was killed mid-fill (stderr: ${stderr.slice(-500)})`);
  return seen;
}

test(
  "a fill killed with SIGKILL leaves exact copies only, and the next fill completes it",
  { timeout: 120_000 },
  async () => {
    dir = await mkdtemp(join(tmpdir(), "agl-fill-crash-"));
    const remoteDir = join(dir, "remote");
    const cacheDir = join(dir, "cache");
    const seeded = await openEmbeddedStore(remoteDir);
    const a = await createAccount(seeded, { user: "u", password: PASSWORD, kdf: TEST_KDF });
    const inbox = await a.mailbox("INBOX");
    for (let i = 0; i < COUNT; i++)
      await inbox.append(sampleMessage(i, { bodyLines: 200 }), [], Date.now() + i);
    await a.close();
    await seeded.close();

    const seen = await fillAndKill(remoteDir, cacheDir, 10);
    assert.ok(seen >= 10 && seen < COUNT, `killed after ${seen} of ${COUNT} bodies`);

    const remote = await openEmbeddedStore(remoteDir);
    const cache = await openEmbeddedStore(cacheDir);
    const copies = (await cache.blobs.list("mail/")).keys;
    assert.ok(copies.length > 0, "some bodies were cached before the kill");
    for (const key of copies)
      assert.deepEqual(await cache.blobs.get(key), await remote.blobs.get(key), `${key} is the remote's`);
    const rows = (await cache.rows.readRange("meta")).items;
    assert.equal(rows.length, COUNT, "every meta row was cached before the bodies");
    await cache.close();

    const store = await withLocalCache(remote, await openEmbeddedStore(cacheDir), CACHEABLE);
    try {
      const b = await openAccount(store, PASSWORD);
      const fill = new CacheFill(b, store.localCache, { startQuietMs: 20 });
      await fill.start();
      const s = fill.status();
      assert.equal(s.state, "done", s.error);
      assert.equal(s.bodiesCached, COUNT);
      assert.ok(s.bodiesWanted === COUNT);
      await fill.close();
      await b.close();
    } finally {
      await store.close();
    }
    const reopened = await openEmbeddedStore(cacheDir);
    const again = await openEmbeddedStore(remoteDir);
    try {
      const keys = (await reopened.blobs.list("mail/")).keys;
      assert.equal(keys.length, COUNT);
      for (const key of keys) assert.deepEqual(await reopened.blobs.get(key), await again.blobs.get(key));
    } finally {
      await reopened.close();
      await again.close();
    }
  },
);
