/**
 * sodium-native without require-addon's resolver (src/crypto/sodiumAddon.ts): a fresh process that
 * loads src/crypto/sodium.ts does not load require-addon, the addon it loaded is the file
 * require-addon resolves for this host, and sealing works; the candidates follow require-addon's
 * order and host names.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { prebuiltCandidates } from "../../src/crypto/sodiumAddon.ts";
import { runChild } from "../support/runChild.ts";
import { tsNodeArgs } from "../support/tsChild.ts";

const REPO = resolve(import.meta.dirname, "../..");

test("a process that loads sodium.ts skips require-addon and gets the addon it would have found", async () => {
  const child = await runChild(process.execPath, tsNodeArgs(join(REPO, "test/crypto/sodiumAddonChild.ts")), {
    timeoutMs: 30_000,
  });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { requireAddonBefore: false, sameAddon: true, opened: "hello" });
});

test("the candidates are require-addon's first two inside the package: versioned, then plain; -musl on Alpine", () => {
  assert.deepEqual(prebuiltCandidates("/p", "5.1.0", { platform: "linux", arch: "x64", musl: false }), [
    "/p/prebuilds/linux-x64/sodium-native@5.1.0.node",
    "/p/prebuilds/linux-x64/sodium-native.node",
  ]);
  assert.deepEqual(prebuiltCandidates("/p", "5.1.0", { platform: "linux", arch: "arm64", musl: true }), [
    "/p/prebuilds/linux-arm64-musl/sodium-native@5.1.0.node",
    "/p/prebuilds/linux-arm64-musl/sodium-native.node",
  ]);
});
