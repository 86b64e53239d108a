/** Group commit: callers that arrive while a sync runs share the next one. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GroupSync } from "../../src/storage/embedded/groupSync.ts";

test("callers arriving during a sync all wait for, and share, exactly one next sync", async () => {
  let runs = 0;
  let release: (() => void) | undefined;
  const group = new GroupSync(() => {
    runs++;
    return new Promise<void>((resolve) => (release = resolve));
  });
  const first = group.sync();
  assert.equal(runs, 1);
  const later = Array.from({ length: 10 }, () => group.sync());
  assert.equal(runs, 1, "no second sync while the first runs");
  let laterDone = false;
  void Promise.all(later).then(() => (laterDone = true));
  release!();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(runs, 2, "one sync for all ten later callers");
  assert.equal(laterDone, false, "later callers wait for a sync that started after they asked");
  release!();
  await Promise.all(later);
  assert.equal(runs, 2);
});

test("a failed sync fails its callers, and the next callers get a fresh sync", async () => {
  let runs = 0;
  const group = new GroupSync(async () => {
    runs++;
    if (runs === 1) throw new Error("EIO");
  });
  await assert.rejects(group.sync(), /EIO/);
  await group.sync();
  assert.equal(runs, 2);
});
