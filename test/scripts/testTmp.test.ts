// The run's temp folder in memory (scripts/test-tmp.mjs): a folder others can reach as they reach
// /tmp (Dovecot's and the local users' processes write there), and the disk when asked for.
import assert from "node:assert/strict";
import { rmdirSync, statSync } from "node:fs";
import { test } from "node:test";
import { memoryTempFolder } from "../../scripts/test-tmp.mjs";

test("the run's temp folder is on a tmpfs, sticky and open to all as /tmp is, or not made at all", () => {
  const dir = memoryTempFolder();
  if (dir === undefined) return; // no /dev/shm with room on this machine: the run stays on the disk
  try {
    assert.match(dir, /^\/dev\/shm\/agl-tests-/);
    assert.equal(statSync(dir).mode & 0o7777, 0o1777);
  } finally {
    rmdirSync(dir);
  }
});

test("AGL_TEST_DISK_TMP=1 keeps the run's temp folder on the disk", () => {
  const before = process.env.AGL_TEST_DISK_TMP;
  process.env.AGL_TEST_DISK_TMP = "1";
  try {
    assert.equal(memoryTempFolder(), undefined);
  } finally {
    if (before === undefined) delete process.env.AGL_TEST_DISK_TMP;
    else process.env.AGL_TEST_DISK_TMP = before;
  }
});
