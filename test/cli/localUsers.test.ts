/**
 * Another user of the same computer against the real CLI and server (issue 12, "Other local
 * users"): nobody may read the home's files, talk to the control socket, or put a socket where
 * our commands would send passwords to it. `status` on a home named by AEROGRAMME_LOCAL_HOME runs in
 * this process (inProcess.ts): its subject here is what it reports. The rest runs the binary, and
 * so must a command on the OS folders: os.homedir() reads HOME from the process's own environment,
 * not from the `process.env` object runCliHere swaps in.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { homePaths } from "../../src/config/homePaths.ts";
import { copyHome, runCli, startServer, type RunningServer, CLI_PASSWORD } from "./cliHarness.ts";
import { nobodyListens, nobodyReads, runAsNobody, skipUnlessOtherUser } from "../support/otherUser.ts";
import { EXIT } from "../../src/cli/exitCodes.ts";
import { runCliHere } from "./inProcess.ts";

const EXIT_NOT_PRIVATE = EXIT.notPrivate;

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;
const NEXT = "the next local users password";

/** A folder for one test, reachable by nobody as a user's home or /tmp is (0755, or 1777). */
async function sharedFolder(mode: number): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "agl-local-"));
  await chmod(dir, mode);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function modeOf(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

/** The blocks of this file run at once, each on a home of its own; the tests of one block in order. */
const IN_ORDER = { concurrency: 1 };

describe("other local users against the binary and the server", { concurrency: true }, () => {
  describe("another user and the home's files", { ...IN_ORDER, skip: skipUnlessOtherUser }, () => {
    // A home where the OS folders are used (no AEROGRAMME_LOCAL_HOME), under a HOME that others may
    // enter, as /home/alice usually is: what init makes there is what matters.
    let user: { dir: string; cleanup: () => Promise<void> };
    let env: Record<string, string | undefined>;
    let config: string;
    let data: string;
    before(async () => {
      user = await sharedFolder(0o755);
      env = {
        AEROGRAMME_LOCAL_HOME: undefined,
        HOME: user.dir,
        XDG_CONFIG_HOME: undefined,
        XDG_DATA_HOME: undefined,
        XDG_CACHE_HOME: undefined,
      };
      config = join(user.dir, ".config", "aerogramme-local");
      data = join(user.dir, ".local", "share", "aerogramme-local");
      const r = await runCli(["init", "--user", "alice", "--password-stdin"], {
        home: "",
        env,
        input: `${PASSWORD}\n`,
      });
      assert.equal(r.code, 0, r.stderr);
    });
    after(() => user.cleanup());

    test("nobody cannot read the settings, the pins, the row log or the key root's blob", async () => {
      const blobs = await readdir(join(data, "blobs"));
      assert.ok(blobs.length > 0);
      const files = [
        config,
        join(config, "settings.json"),
        join(config, "publicKey"),
        join(config, "senderKey"),
        data,
        join(data, "rows.log"),
        join(data, "blobs"),
        join(data, "blobs", blobs[0]!),
      ];
      const got = await nobodyReads(files);
      for (const f of files)
        assert.equal(got[f], "EACCES", `${f} (mode ${await modeOf(f)}) is readable by nobody`);
      assert.equal(await modeOf(config), "700");
      assert.equal(await modeOf(data), "700");
      assert.equal(await modeOf(join(data, "rows.log")), "600");
      assert.equal(await modeOf(join(data, "blobs", blobs[0]!)), "600");
    });

    test("a home left open by an earlier build: doctor says so with the fix, start closes it", async () => {
      // What a home made with umask 022 before this fix looked like (the XDG folders too: made by
      // init under its umask, they are 0700 now).
      for (const dir of [".config", ".local", ".local/share"]) await chmod(join(user.dir, dir), 0o755);
      for (const dir of [config, data, join(data, "blobs")]) await chmod(dir, 0o755);
      await chmod(join(data, "rows.log"), 0o644);
      assert.equal((await nobodyReads([join(data, "rows.log")]))[join(data, "rows.log")], "ok");

      const doctor = await runCli(["doctor", "--json"], { home: "", env });
      const check = (
        JSON.parse(doctor.stdout) as {
          checks: { name: string; status: string; detail: string; fix?: string }[];
        }
      ).checks.find((c) => c.name === "file permissions");
      assert.equal(check?.status, "fail", doctor.stdout);
      assert.match(check.detail, /rows\.log \(file, mode 644\)/);
      assert.match(check.fix!, /aerogramme-local start.*chmod 700 /);
      assert.equal(doctor.code, 1);

      const server = await startServer(["--imap-port", "0"], { home: "", env });
      await server.stop();
      assert.match(server.stderr(), /closed \d+ file\(s\) and folder\(s\) to other users/);
      for (const dir of [config, data, join(data, "blobs")]) assert.equal(await modeOf(dir), "700", dir);
      assert.equal(await modeOf(join(data, "rows.log")), "600");
      assert.equal((await nobodyReads([join(data, "rows.log")]))[join(data, "rows.log")], "EACCES");
      const again = await runCli(["doctor", "--json"], { home: "", env });
      const fixed = (JSON.parse(again.stdout) as { checks: { name: string; status: string }[] }).checks.find(
        (c) => c.name === "file permissions",
      );
      assert.equal(fixed?.status, "pass", again.stdout);
    });
  });

  describe(
    "another user and the control socket in the home",
    { ...IN_ORDER, skip: skipUnlessOtherUser },
    () => {
      let home: { dir: string; cleanup: () => Promise<void> };
      let server: RunningServer | undefined;
      before(async () => {
        home = await sharedFolder(0o700);
        await copyHome(home.dir, { password: PASSWORD });
        server = await startServer(["--imap-port", "0"], { home: home.dir });
      });
      after(async () => {
        await server?.stop("SIGKILL");
        await home.cleanup();
      });

      const askStatus = `
    const s = require("node:net").connect(process.argv[1]);
    let got = "";
    s.on("connect", () => s.write(JSON.stringify({ op: "status" }) + "\\n"));
    s.on("data", (d) => (got += d));
    s.on("close", () => console.log(JSON.stringify({ got })));
    s.on("error", (e) => { console.log(JSON.stringify({ got, error: e.code })); process.exit(0); });
  `;

      test("nobody cannot connect to it", async () => {
        const socket = homePaths({ AEROGRAMME_LOCAL_HOME: home.dir }).controlSocket;
        assert.equal(socket, join(home.dir, "control.sock"));
        const r = await runAsNobody(askStatus, [socket]);
        assert.deepEqual(JSON.parse(r.stdout), { got: "", error: "EACCES" }, r.stderr);
      });

      test("nobody cannot put a socket there first", async () => {
        const r = await runAsNobody(
          `require("node:net").createServer().listen(process.argv[1], () => { console.log("listening"); process.exit(0); })
         .on("error", (e) => { console.log(e.code); process.exit(0); });`,
          [join(home.dir, "other.sock")],
        );
        assert.equal(r.stdout.trim(), "EACCES");
      });

      test("opened up after start (a careless chmod -R), the server answers nobody and says why", async () => {
        const socket = join(home.dir, "control.sock");
        await chmod(home.dir, 0o777);
        await chmod(socket, 0o666);
        try {
          const r = await runAsNobody(askStatus, [socket]);
          // Connected (the folder and socket let it), then closed unanswered: a reset or a broken pipe
          // when the close beat the request, an empty answer otherwise.
          const answer = JSON.parse(r.stdout) as { got: string; error?: string };
          assert.equal(answer.got, "", r.stdout);
          assert.notEqual(answer.error, "EACCES", "the connection itself was allowed");
          assert.match(server!.stderr(), /can now be reached by other users; requests are refused/);
        } finally {
          await chmod(home.dir, 0o700);
          await chmod(socket, 0o600);
        }
        const status = await runCliHere(["status", "--json"], { home: home.dir });
        assert.equal((JSON.parse(status.stdout) as { running: boolean }).running, true, status.stderr);
      });
    },
  );

  describe(
    "another user and the control socket of a home too deep for it",
    { ...IN_ORDER, skip: skipUnlessOtherUser },
    () => {
      // sun_path holds about 100 bytes: the socket of this home cannot live in it. Before issue 12 it
      // went to /tmp/aerogramme-local-<hash>.sock, where anybody could make it first.
      let tmp: { dir: string; cleanup: () => Promise<void> };
      let home: string;
      let env: Record<string, string | undefined>;
      before(async () => {
        tmp = await sharedFolder(0o1777);
        const root = await mkdtemp(join(tmpdir(), "agl-deep-"));
        home = join(root, "a-rather-long-folder-name-".repeat(4));
        await mkdir(home, { mode: 0o700 });
        env = { TMPDIR: tmp.dir, XDG_RUNTIME_DIR: undefined };
        await copyHome(home, { password: PASSWORD });
      });
      after(async () => {
        await tmp.cleanup();
        await rm(join(home, ".."), { recursive: true, force: true });
      });

      test("a socket nobody made at the old shared path gets no password, and start does not believe it", async () => {
        const hash = createHash("sha256").update(home).digest("hex").slice(0, 16);
        const old = await nobodyListens(join(tmp.dir, `aerogramme-local-${hash}.sock`));
        try {
          const passwd = await runCli(["passwd", "change", "--password-stdin"], {
            home,
            env,
            input: `${PASSWORD}\n${NEXT}\n`,
          });
          assert.equal(passwd.code, 0, passwd.stderr);
          assert.ok(!passwd.stdout.includes("running server"), passwd.stdout);
          const server = await startServer(["--imap-port", "0"], { home, env });
          const socket = homePaths({ AEROGRAMME_LOCAL_HOME: home, TMPDIR: tmp.dir }).controlSocket;
          assert.equal(socket, join(tmp.dir, "aerogramme-local-0", `aerogramme-local-${hash}.sock`));
          assert.equal(await modeOf(join(tmp.dir, "aerogramme-local-0")), "700");
          const status = await runCliHere(["status", "--json"], { home, env });
          await server.stop();
          assert.equal((JSON.parse(status.stdout) as { pid: number }).pid, server.child.pid);
          assert.equal(await old.received(), "", "nobody's socket received nothing");
        } finally {
          await old.stop();
        }
      });

      test("a socket folder nobody made first: passwd sends nothing and start refuses (10)", async () => {
        const folder = join(tmp.dir, "aerogramme-local-0");
        await rm(folder, { recursive: true, force: true });
        const socket = homePaths({ AEROGRAMME_LOCAL_HOME: home, TMPDIR: tmp.dir }).controlSocket;
        const planted = await nobodyListens(socket, folder);
        try {
          const passwd = await runCli(["passwd", "change", "--password-stdin"], {
            home,
            env,
            input: `${NEXT}\n${PASSWORD}\n`,
          });
          assert.equal(passwd.code, EXIT_NOT_PRIVATE, passwd.stderr);
          assert.match(passwd.stderr, /belongs to uid 65534, not to you/);
          const start = await runCli(["start", "--imap-port", "0"], { home, env, timeoutMs: 30_000 });
          assert.equal(start.code, EXIT_NOT_PRIVATE, start.stderr);
          assert.doesNotMatch(start.stderr, /already runs/);
          assert.match(start.stderr, /control socket's folder .* belongs to uid 65534/);
          assert.equal(await planted.received(), "", "nobody's socket received nothing");
        } finally {
          await planted.stop();
          await rm(folder, { recursive: true, force: true });
        }
        // With nobody's folder gone, the same commands work (the password was not changed above).
        const passwd = await runCli(["passwd", "change", "--password-stdin"], {
          home,
          env,
          input: `${NEXT}\n${PASSWORD}\n`,
        });
        assert.equal(passwd.code, 0, passwd.stderr);
      });
    },
  );
});
