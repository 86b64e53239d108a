// The committed Dovecot answers (test/fixtures/mime/dovecot) are still what a real Dovecot says:
// scripts/dovecot-fixtures.sh records them again into a temporary folder and we compare.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, skipUnless } from "../support/peers.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const dovecot = findExecutable("dovecot", ["/usr/sbin/dovecot"]);

describe("Dovecot fixtures (needs a real Dovecot)", () => {
  const out = mkdtempSync(join(tmpdir(), "dovecot-answers-"));
  after(() => rmSync(out, { recursive: true, force: true }));

  it(
    "a live Dovecot gives the recorded answers for every corpus message",
    { skip: skipUnless(dovecot !== undefined, "Dovecot", "apt-get install dovecot-imapd"), timeout: 120_000 },
    () => {
      const run = spawnSync("sh", [join(ROOT, "scripts", "dovecot-fixtures.sh")], {
        env: { ...process.env, DOVECOT: dovecot!, DOVECOT_FIXTURES_OUT: out },
        encoding: "utf8",
        timeout: 110_000,
      });
      assert.equal(run.status, 0, `dovecot-fixtures.sh failed: ${run.stderr}`);
      const committed = join(ROOT, "test", "fixtures", "mime", "dovecot");
      const names = readdirSync(committed).filter((f) => f.endsWith(".json"));
      assert.deepEqual(readdirSync(out).sort(), names.sort());
      for (const name of names) {
        assert.equal(
          readFileSync(join(out, name), "utf8"),
          readFileSync(join(committed, name), "utf8"),
          name,
        );
      }
    },
  );
});
