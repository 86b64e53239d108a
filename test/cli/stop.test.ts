/**
 * SIGTERM ends `start` promptly and with code 0: at random moments right after a first-run start
 * (init and start in one, the case seen hanging), and when a stopped part leaves a handle open.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tsNodeArgs } from "../support/tsChild.ts";
import { CLI_PASSWORD, REPO, startServer, tempHome } from "./cliHarness.ts";

/** A stop may wait for writes in flight; none are in flight here, so this is generous. */
const PROMPT_MS = 10_000;

describe("SIGTERM ends the server promptly", () => {
  test("at once and at random moments right after a first-run start, each exit within 10 s with code 0", async () => {
    for (let round = 0; round < 4; round++) {
      const { dir, cleanup } = await tempHome();
      try {
        const server = await startServer(["--imap-port", "0", "--user", "bob", "--password-stdin"], {
          home: dir,
          input: `${CLI_PASSWORD}\n`,
        });
        // Even rounds stop it the moment the ready line is read (a test or a script does that).
        if (round % 2 === 1) await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
        const started = Date.now();
        const code = await server.stop();
        const took = Date.now() - started;
        assert.equal(code, 0, `round ${round}: exit ${code} after ${took} ms\n${server.stderr()}`);
        assert.ok(took < PROMPT_MS, `round ${round}: the stop took ${took} ms\n${server.stderr()}`);
        assert.doesNotMatch(server.stderr(), /still open after the stop|still stopping/);
      } finally {
        await cleanup();
      }
    }
  });

  test("a handle left open by a stopped part does not keep the process alive", async () => {
    const child = spawn(process.execPath, tsNodeArgs(join(REPO, "test/cli/stopLeftOpenChild.ts")), {
      cwd: REPO,
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    // Without the bound the child would never end: kill it (bounded) so the test fails, not hangs.
    const bounded = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      const waiting = new Promise<void>((r) =>
        child.stdout.on("data", (d) => String(d).includes("waiting") && r()),
      );
      await Promise.race([waiting, exited]);
      const started = Date.now();
      child.kill("SIGTERM");
      const code = await exited;
      assert.equal(code, 0, stderr);
      assert.ok(Date.now() - started < PROMPT_MS, `took ${Date.now() - started} ms`);
      assert.match(stderr, /still open after the stop: .*Timeout.*; exiting anyway/);
    } finally {
      clearTimeout(bounded);
      child.kill("SIGKILL");
    }
  });

  test("a SIGTERM caught just before the handlers change hands is not lost", async () => {
    const child = spawn(process.execPath, tsNodeArgs(join(REPO, "test/cli/stopEarlySignalChild.ts")), {
      cwd: REPO,
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    // A lost signal leaves the child running: kill it (bounded) so the test fails, not hangs.
    const bounded = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /SIGTERM: stopping/);
      assert.match(stderr, /stopped/);
    } finally {
      clearTimeout(bounded);
    }
  });
});
