import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { BIN, freePort, runCli, tempHome } from "./cliHarness.ts";
import { TmuxDriver } from "./tmuxDriver.ts";

const tmuxSkip = skipUnless(Boolean(findExecutable("tmux")), "tmux", "apt-get install tmux");
const skip = tmuxSkip;

/** The wizard waits for each prompt before answering, as a person reads before typing. */
describe(
  "the init wizard in a terminal (tmux), answered like a person, wrong answers included",
  { skip },
  () => {
    const drivers: TmuxDriver[] = [];
    const homes: { cleanup: () => Promise<void> }[] = [];
    const home = async () => {
      const h = await tempHome();
      homes.push(h);
      return h.dir;
    };
    const wizard = (dir: string, ...args: string[]) => {
      const d = TmuxDriver.start([process.execPath, BIN, "init", ...args], {
        AEROGRAMME_LOCAL_HOME: dir,
        NO_COLOR: "1",
      });
      drivers.push(d);
      return d;
    };
    after(async () => {
      for (const d of drivers) d.kill();
      for (const h of homes) await h.cleanup();
    });

    test("embedded: a bad user name and mismatched passwords get a message and another try", async () => {
      const dir = await home();
      const t = wizard(dir);
      await t.waitFor(/Where should the mail be kept\?/);
      t.press("Enter"); // embedded, the default
      await t.waitFor(/Folder for the encrypted mail/);
      t.press("Enter"); // the default folder under the home
      await t.waitFor(/Offer STARTTLS/);
      t.press("Enter"); // no
      await t.waitFor(/IMAP user name/);
      t.answer("bad user");
      await t.waitFor(/"bad user" is not an IMAP login name/);
      t.answer("alice");
      await t.waitFor(/Choose the account password/);
      t.type("first try");
      t.press("Enter");
      await t.waitFor(/Type it again/);
      t.type("second try");
      t.press("Enter");
      await t.waitFor(/The two passwords differ\. Try again\./);
      await t.waitForCount(/Choose the account password/, 2);
      t.type("the real one");
      t.press("Enter");
      await t.waitForCount(/Type it again/, 2);
      t.type("the real one");
      t.press("Enter");
      const screen = await t.waitFor(/EXIT:\d+/, 60_000);
      assert.match(screen, /EXIT:0/);
      assert.match(screen, /Created the account "alice" in embedded storage/);
      assert.match(screen, /Username: +alice/);
      assert.ok(!screen.includes("the real one"), "the password never shows on the screen");
      const settings = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Record<
        string,
        string
      >;
      assert.equal(settings.user, "alice");
      const status = await runCli(["status", "--password-stdin"], { home: dir, input: "the real one\n" });
      assert.equal(status.code, 13, status.stderr); // the password opens it; no server runs
    });

    test("joining storage that already holds an account asks for its password, and a wrong one gets another try", async () => {
      const first = await home();
      const made = await runCli(["init", "--user", "alice", "--password-stdin"], {
        home: first,
        input: "shared secret\n",
      });
      assert.equal(made.code, 0, made.stderr);
      const second = await home();
      const t = wizard(second, "--backend", "embedded", "--data-dir", join(first, "data"), "--user", "alice");
      await t.waitFor(/Offer STARTTLS/);
      t.press("Enter");
      await t.waitFor(/already holds an account/);
      await t.waitFor(/Account password/);
      t.type("not it");
      t.press("Enter");
      await t.waitFor(/That password does not open this account/, 30_000);
      t.type("shared secret");
      t.press("Enter");
      const screen = await t.waitFor(/EXIT:\d+/, 60_000);
      assert.match(screen, /EXIT:0/);
      assert.match(screen, /Joined the existing account/);
    });

    test("garage: a bad URL, then an unreachable endpoint, each get a clear message; Ctrl-C saves nothing", async () => {
      const dir = await home();
      const closed = `http://127.0.0.1:${await freePort()}`;
      const t = wizard(dir);
      await t.waitFor(/Where should the mail be kept\?/);
      t.press("Down");
      t.press("Enter"); // garage
      // Without a keychain the wizard offers the credentials file: accept, to reach the endpoint question.
      const next = await t.waitFor(/S3 API endpoint|credentials file|file readable only by you/);
      if (!/S3 API endpoint/.test(next)) {
        t.type("y");
        t.press("Enter");
        await t.waitFor(/S3 API endpoint/);
      }
      t.answer("not a url");
      await t.waitFor(/"not a url" is not a URL/);
      t.answer(closed);
      await t.waitFor(
        new RegExp(
          `cannot reach the Garage S3 API at ${closed.replace(/[.:/]/g, "\\$&")}: connection refused`,
        ),
      );
      t.press("C-c");
      const screen = await t.waitFor(/EXIT:\d+/);
      assert.match(screen, /EXIT:130/);
      const file = join(dir, "settings.json");
      const saved = existsSync(file)
        ? (JSON.parse(await readFile(file, "utf8")) as { backend?: string })
        : {};
      assert.equal(saved.backend, undefined, "nothing was saved");
    });
  },
);

describe("start on a fresh machine, in a terminal", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let driver: TmuxDriver | undefined;
  before(async () => ({ dir, cleanup } = await tempHome()));
  after(async () => {
    driver?.kill();
    await cleanup();
  });

  test("walks through init with the embedded backend before serving", async () => {
    driver = TmuxDriver.start([process.execPath, BIN, "start", "--imap-port", "0"], {
      AEROGRAMME_LOCAL_HOME: dir,
      NO_COLOR: "1",
    });
    await driver.waitFor(/Nothing is set up here yet/);
    await driver.waitFor(/IMAP user name/);
    driver.answer("carol");
    await driver.waitFor(/Choose the account password/);
    driver.type("pw for carol");
    driver.press("Enter");
    await driver.waitFor(/Type it again/);
    driver.type("pw for carol");
    driver.press("Enter");
    const screen = await driver.waitFor(/IMAP listening on 127\.0\.0\.1:\d+|EXIT:\d+/, 60_000);
    const port = /IMAP listening on 127\.0\.0\.1:(\d+)/.exec(screen)?.[1];
    assert.ok(port, screen);
    // The settings printed for the client are those of the port it listens on (issue 16), and
    // `start` does not tell the user to run `start`.
    assert.match(screen, new RegExp(`Port: +${port}\\n`));
    assert.doesNotMatch(screen, /Next: run/);
    driver.press("C-c");
    assert.match(await driver.waitFor(/EXIT:\d+/), /EXIT:0/);
    const settings = JSON.parse(await readFile(join(dir, "settings.json"), "utf8")) as Record<string, string>;
    assert.deepEqual([settings.backend, settings.user], ["embedded", "carol"]);
  });
});
