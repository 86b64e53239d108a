/**
 * New passwords are judged before anything is made or changed (issue 12): `init` and `passwd`
 * accepted "abc" and "a", the only protection of a key root the storage host can copy.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CLI_PASSWORD, setUpHome, tempHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

const STRONG = "password strength test password";
/** The password of the run's set-up home (strong enough too), which the passwd tests start from. */
const CURRENT = CLI_PASSWORD;

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

describe("new passwords are judged", { concurrency: true }, () => {
  describe("init --password-stdin and a weak password", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await tempHome()));
    after(() => home.cleanup());

    test('"abc" is refused (2) and nothing is set up; with --allow-weak-password it is taken, with a warning', async () => {
      const refused = await runCliHere(["init", "--user", "alice", "--password-stdin"], {
        home: home.dir,
        input: "abc\n",
      });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        refused.stderr,
        /too easy to guess \(about 10\^\d+ guesses: it is a sequence.*--allow-weak-password/,
      );
      assert.equal((await runCliHere(["status"], { home: home.dir })).code, 6, "nothing was set up");

      const allowed = await runCliHere(
        ["init", "--user", "alice", "--password-stdin", "--allow-weak-password"],
        {
          home: home.dir,
          input: "abc\n",
        },
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.match(allowed.stderr, /warning: this password is weak/);
      assert.equal(
        (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: "abc\n" })).code,
        13,
      );
    });
  });

  describe("init --password-stdin and a strong password", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await tempHome()));
    after(() => home.cleanup());

    test("is taken with no warning", async () => {
      const r = await runCliHere(["init", "--user", "alice", "--password-stdin"], {
        home: home.dir,
        input: `${STRONG}\n`,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /weak/, "a strong password gets no warning");
    });
  });

  // On a copy of the run's set-up home (cliHarness.ts, copyHome), not a home of its own init: the
  // subject is what passwd takes, and its first entry, light Argon2id parameters, is tried by every
  // unlock below (nine of them, ~0.14 CPU s each at init's 64 MiB x 4). The entries passwd writes
  // have init's parameters, as anywhere.
  describe("passwd --password-stdin and a weak new password", IN_ORDER, () => {
    let home: { dir: string; cleanup: () => Promise<void> };
    before(async () => (home = await setUpHome({ password: CURRENT })));
    after(() => home.cleanup());

    // 13 when the password opens the account (no server runs here), 3 when it does not.
    const opens = async (password: string) =>
      (await runCliHere(["status", "--password-stdin"], { home: home.dir, input: `${password}\n` })).code;

    test('change to "a" and add "alicewonder" (user alice) are refused (2) and change nothing', async () => {
      const change = await runCliHere(["passwd", "change", "--password-stdin"], {
        home: home.dir,
        input: `${CURRENT}\na\n`,
      });
      assert.equal(change.code, 2, change.stderr);
      assert.match(change.stderr, /too easy to guess/);
      // Fair (score 2) on its own, but it starts with the user name, which an attacker tries first.
      const add = await runCliHere(["passwd", "add", "--password-stdin"], {
        home: home.dir,
        input: `${CURRENT}\nalicewonder\n`,
      });
      assert.equal(add.code, 2, add.stderr);
      assert.equal(await opens(CURRENT), 13);
      assert.equal(await opens("a"), 3);
      assert.equal(await opens("alicewonder"), 3);
    });

    test("a fair one (zxcvbn score 2) is taken with a warning; a weak one with --allow-weak-password", async () => {
      const fair = await runCliHere(["passwd", "add", "--password-stdin"], {
        home: home.dir,
        input: `${CURRENT}\nnew one\n`,
      });
      assert.equal(fair.code, 0, fair.stderr);
      assert.match(fair.stderr, /warning: this password is weak/);
      const weak = await runCliHere(["passwd", "change", "--password-stdin", "--allow-weak-password"], {
        home: home.dir,
        input: `new one\na\n`,
      });
      assert.equal(weak.code, 0, weak.stderr);
      assert.equal(await opens("a"), 13);
      assert.equal(await opens("new one"), 3);
      assert.equal(await opens(CURRENT), 13);
    });
  });
});
