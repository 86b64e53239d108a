/** Only one process opens a data folder; a lock left by a dead process does not block forever. */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Locked } from "../../src/errors.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { tsNodeArgs } from "../support/tsChild.ts";

const folders: string[] = [];
const children: number[] = [];
async function freshFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agl-embedded-lock-"));
  folders.push(dir);
  return dir;
}
after(async () => {
  for (const pid of children) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function bootId(): Promise<string | undefined> {
  return readFile("/proc/sys/kernel/random/boot_id", "utf8").then(
    (s) => s.trim(),
    () => undefined,
  );
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid!;
}

describe("embedded store: folder lock", () => {
  test("a second open of an open folder fails with Locked naming the folder and the pid", async () => {
    const dir = await freshFolder();
    const store = await openEmbeddedStore(dir);
    await assert.rejects(openEmbeddedStore(dir), (err: unknown) => {
      assert.ok(err instanceof Locked);
      assert.match(err.message, new RegExp(`${dir}.*pid ${process.pid}`));
      return true;
    });
    await store.close();
    const again = await openEmbeddedStore(dir);
    await again.close();
  });

  test("another live process's lock gives Locked naming its pid, and leaves the lock in place", async () => {
    const dir = await freshFolder();
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    children.push(sleeper.pid!);
    const lock = JSON.stringify({ pid: sleeper.pid, host: hostname(), boot: await bootId() });
    await writeFile(join(dir, "lock"), lock);
    await assert.rejects(openEmbeddedStore(dir), (err: unknown) => {
      assert.ok(err instanceof Locked);
      assert.match(err.message, new RegExp(`process ${sleeper.pid} on `));
      assert.match(err.message, /delete .*lock/);
      return true;
    });
    assert.equal(await readFile(join(dir, "lock"), "utf8"), lock);
    sleeper.kill("SIGKILL");
    await new Promise((resolve) => sleeper.on("exit", resolve));
    const store = await openEmbeddedStore(dir);
    await store.close();
  });

  test("a lock left by a dead process is taken over", async () => {
    const dir = await freshFolder();
    const pid = await deadPid();
    await writeFile(join(dir, "lock"), JSON.stringify({ pid, host: hostname(), boot: await bootId() }));
    const store = await openEmbeddedStore(dir);
    assert.equal((JSON.parse(await readFile(join(dir, "lock"), "utf8")) as { pid: number }).pid, process.pid);
    await store.rows.insert("p", "s", new Uint8Array([1]));
    await store.close();
    await assert.rejects(stat(join(dir, "lock")), { code: "ENOENT" });
  });

  test(
    "a lock from before a reboot is taken over even if its pid is alive now",
    { skip: process.platform !== "linux" && "boot ids are read on Linux only" },
    async () => {
      const dir = await freshFolder();
      await writeFile(
        join(dir, "lock"),
        JSON.stringify({ pid: 1, host: hostname(), boot: "some-earlier-boot" }),
      );
      const store = await openEmbeddedStore(dir);
      await store.close();
    },
  );

  test("a lock held on another host is respected", async () => {
    const dir = await freshFolder();
    await writeFile(join(dir, "lock"), JSON.stringify({ pid: await deadPid(), host: "elsewhere.example" }));
    await assert.rejects(openEmbeddedStore(dir), /in use by process \d+ on elsewhere\.example/);
  });

  test("a lock file we cannot read is not broken silently", async () => {
    const dir = await freshFolder();
    await writeFile(join(dir, "lock"), "not json");
    await assert.rejects(
      openEmbeddedStore(dir),
      (err: unknown) => err instanceof Locked && /names no process/.test(err.message),
    );
  });

  test("ten opens racing in one process: exactly one wins", async () => {
    const dir = await freshFolder();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => openEmbeddedStore(dir)));
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1);
    for (const r of results)
      if (r.status === "rejected") assert.ok(r.reason instanceof Locked, String(r.reason));
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof openEmbeddedStore>>>).value.close();
  });

  test("processes racing to take over a dead process's lock: exactly one opens the folder", async () => {
    const dir = await freshFolder();
    await writeFile(
      join(dir, "lock"),
      JSON.stringify({ pid: await deadPid(), host: hostname(), boot: await bootId() }),
    );
    const script = join(import.meta.dirname, "embeddedLockHolder.ts");
    const run = () =>
      promisify(execFile)(process.execPath, [...tsNodeArgs(script), dir, "6000"], { timeout: 30_000 });
    const outputs = (await Promise.all([run(), run(), run()])).map((r) => r.stdout.trim());
    assert.deepEqual(outputs.sort(), ["locked", "locked", "open"]);
  });
});
