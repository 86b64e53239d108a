/**
 * `reset` (issue 16): lists what goes, asks (or --yes), and leaves no file of the home behind, in
 * the OS's own folders too; a data folder that also holds the user's files keeps those; a running
 * server is never reset under it. The keychain entry's removal is checked with `secret-tool` in
 * test/cli/garage.test.ts (it needs a backend with secrets).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, startServer, tempHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

// Every reset runs the binary; the inits that set up its homes and the status after run in this
// process (runCliHere).

const PASSWORD = "a home that will be reset";

describe("reset", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir: root, cleanup } = await tempHome()));
  after(() => cleanup());

  test("in the OS folders: refuses without a terminal or --yes, refuses while serving, then removes every file", async () => {
    // No AEROGRAMME_LOCAL_HOME: settings, data and cache go to the XDG folders, as for a user.
    const env = {
      AEROGRAMME_LOCAL_HOME: undefined,
      XDG_CONFIG_HOME: join(root, "config"),
      XDG_DATA_HOME: join(root, "data"),
      XDG_CACHE_HOME: join(root, "cache"),
    };
    const home = join(root, "unused");
    const init = await runCliHere(["init", "--user", "dora", "--password-stdin"], {
      home,
      env,
      input: `${PASSWORD}\n`,
    });
    assert.equal(init.code, 0, init.stderr);
    const made = async () =>
      (
        await Promise.all(["config", "data", "cache"].map((d) => readdir(join(root, d)).catch(() => [])))
      ).flat();
    assert.ok((await made()).includes("aerogramme-local"));

    const asked = await runCli(["reset"], { home, env });
    assert.equal(asked.code, 2);
    assert.match(asked.stderr, /run it on a terminal, or add --yes/);
    assert.match(asked.stdout, /the encrypted mail \(embedded store\): .*data\/aerogramme-local/);

    const server = await startServer(["--imap-port", "0"], { home, env });
    try {
      const refused = await runCli(["reset", "--yes"], { home, env });
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, new RegExp(`a server runs for this home \\(pid ${server.child.pid}\\)`));
    } finally {
      await server.stop();
    }
    const done = await runCli(["reset", "--yes"], { home, env });
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(await made(), []);
    assert.equal((await runCliHere(["status"], { home, env })).code, 6);
  });

  test("a data folder that also holds the user's own files keeps them", async () => {
    const home = join(root, "home2");
    const dataDir = join(root, "my-documents");
    await mkdir(dataDir);
    await writeFile(join(dataDir, "notes.txt"), "mine\n");
    const init = await runCliHere(["init", "--user", "erin", "--data-dir", dataDir, "--password-stdin"], {
      home,
      input: `${PASSWORD}\n`,
    });
    assert.equal(init.code, 0, init.stderr);
    assert.ok((await readdir(dataDir)).includes("rows.log"));
    // On an embedded home there is nothing remote: the flag says so and asks for no password.
    const done = await runCli(["reset", "--yes", "--delete-remote-data"], { home });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /this home has no remote data/);
    assert.deepEqual(await readdir(dataDir), ["notes.txt"]);
    assert.match(done.stderr, /holds other files \(notes\.txt\)/);
    assert.equal(existsSync(home), false);
  });
});
