/**
 * `completion bash|zsh|fish` (issue 16): the bash script, sourced in a real bash, completes
 * commands, subcommands, options, option choices and setting names, all taken from the program.
 * The bash script comes from the binary; zsh, fish and the usage error from this process
 * (runCliHere).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, tempHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

describe("shell completion", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let script: string;
  before(async () => {
    ({ dir, cleanup } = await tempHome());
    const r = await runCli(["completion", "bash"], { home: dir });
    assert.equal(r.code, 0, r.stderr);
    script = join(dir, "completion.bash");
    await writeFile(script, r.stdout);
  });
  after(() => cleanup());

  /** What bash offers after the typed words (the last one is the word being completed). */
  function complete(...words: string[]): string[] {
    const r = spawnSync(
      "bash",
      [
        "-c",
        'source "$0"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _aerogramme_local; printf "%s\\n" "${COMPREPLY[@]}"',
        script,
        "x",
        "aerogramme-local",
        ...words,
      ],
      { encoding: "utf8", timeout: 10_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").filter(Boolean);
  }

  test("bash: commands, subcommands, options, choices and setting names", () => {
    assert.deepEqual(complete("co"), ["completion", "config"]);
    assert.deepEqual(complete("service", "").slice(0, 3), ["install", "uninstall", "status"]);
    assert.deepEqual(complete("init", "--backend", ""), ["embedded", "garage", "s3"]);
    assert.deepEqual(complete("start", "--imap-p"), ["--imap-port"]);
    assert.ok(complete("config", "set", "cache").includes("cacheMaxBytes"));
    // Option values do not move down the tree: after `--user alice`, init's options still come.
    assert.ok(complete("init", "--user", "alice", "--ba").includes("--backend"));
  });

  test("zsh and fish scripts name every command; an unknown shell is a usage error", async () => {
    const zsh = await runCliHere(["completion", "zsh"], { home: dir });
    assert.match(zsh.stdout, /bashcompinit/);
    const fish = await runCliHere(["completion", "fish"], { home: dir });
    for (const command of ["init", "start", "status", "doctor", "reset", "service", "completion"])
      assert.match(fish.stdout, new RegExp(`-a ${command} -d`));
    assert.match(fish.stdout, /-l backend -r -a 'embedded garage s3'/);
    assert.equal((await runCliHere(["completion", "tcsh"], { home: dir })).code, 2);
  });
});
