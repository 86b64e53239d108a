import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeCredentialsFile } from "../../src/config/credentialsFile.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { BIN, cliEnv, REPO, runCli, tempHome } from "./cliHarness.ts";
import { garageBinary, startGarage, type GaragePeer } from "./garagePeer.ts";

interface DoctorReport {
  ok: boolean;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");

describe("init and doctor against a real Garage", { skip }, () => {
  let garage: GaragePeer;
  const homes: { cleanup: () => Promise<void> }[] = [];
  const home = async () => {
    const h = await tempHome();
    homes.push(h);
    return h.dir;
  };
  before(async () => (garage = await startGarage()));
  after(async () => {
    for (const h of homes) await h.cleanup();
    await garage?.stop();
  });

  const initArgs = (overrides: Record<string, string> = {}) => {
    const flags: Record<string, string> = {
      "--s3-endpoint": garage.s3Endpoint,
      "--k2v-endpoint": garage.k2vEndpoint,
      "--region": garage.region,
      "--bucket": garage.bucket,
      "--access-key-id": garage.accessKeyId,
      "--user": "alice",
      ...overrides,
    };
    return [
      "init",
      "--backend",
      "garage",
      "--credentials-file",
      "--secret-access-key-stdin",
      "--password-stdin",
      ...Object.entries(flags).flat(),
    ];
  };

  test("wrong credentials, a missing bucket and a wrong K2V endpoint each end with a clear message (4)", async () => {
    const dir = await home();
    const wrongSecret = await runCli(initArgs(), { home: dir, input: "not the secret\npw\n" });
    assert.equal(wrongSecret.code, 4, wrongSecret.stderr);
    assert.match(wrongSecret.stderr, /refused these credentials for bucket "mail"/);
    assert.ok(!wrongSecret.stderr.includes("not the secret"));
    const noBucket = await runCli(initArgs({ "--bucket": "nothere" }), {
      home: dir,
      input: `${garage.secretAccessKey}\npw\n`,
    });
    assert.equal(noBucket.code, 4, noBucket.stderr);
    assert.match(noBucket.stderr, /the bucket "nothere" does not exist.*garage bucket create nothere/);
    const noK2v = await runCli(initArgs({ "--k2v-endpoint": garage.s3Endpoint }), {
      home: dir,
      input: `${garage.secretAccessKey}\npw\n`,
    });
    assert.equal(noK2v.code, 4, noK2v.stderr);
    assert.match(noK2v.stderr, /K2V at/);
    for (const r of [wrongSecret, noBucket, noK2v])
      assert.ok(!r.stderr.includes(garage.secretAccessKey), "the secret is never printed");
    const list = await runCli(["config", "list", "--json"], { home: dir });
    assert.equal(
      (JSON.parse(list.stdout) as { settings: { backend?: string } }).settings.backend,
      undefined,
      "nothing saved",
    );
  });

  test("with the right answers it sets up; a second computer joins with the password, a wrong one is 3", async () => {
    const dir = await home();
    const r = await runCli(initArgs(), { home: dir, input: `${garage.secretAccessKey}\nthe password\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created the account "alice" in garage storage/);
    const settingsText = await readFile(join(dir, "settings.json"), "utf8");
    assert.ok(!settingsText.includes(garage.secretAccessKey), "the secret is not in the settings file");
    // A second computer (another home) joins the same bucket with the password.
    const other = await home();
    const joined = await runCli(initArgs(), {
      home: other,
      input: `${garage.secretAccessKey}\nthe password\n`,
    });
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /Joined the existing account/);
    const wrong = await runCli(initArgs(), {
      home: await home(),
      input: `${garage.secretAccessKey}\nnot the password\n`,
    });
    assert.equal(wrong.code, 3);
  });

  test("doctor passes storage, bucket writes, K2V and clock skew for a good home", async () => {
    const dir = await home();
    for (const [k, v] of [
      ["backend", "garage"],
      ["user", "alice"],
      ["s3Endpoint", garage.s3Endpoint],
      ["k2vEndpoint", garage.k2vEndpoint],
      ["region", garage.region],
      ["bucket", garage.bucket],
      ["credentialsStore", "file"],
      ["imapPort", "1"],
    ])
      assert.equal((await runCli(["config", "set", k!, v!], { home: dir })).code, 0);
    await writeCredentialsFile(join(dir, "credentials.json"), {
      accessKeyId: garage.accessKeyId,
      secretAccessKey: garage.secretAccessKey,
    });
    const r = await runCli(["doctor", "--json"], { home: dir });
    const report = JSON.parse(r.stdout) as DoctorReport;
    const status = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    assert.deepEqual(
      [
        status.credentials,
        status["storage reachable"],
        status["bucket writable"],
        status["K2V present"],
        status["clock skew"],
      ],
      ["pass", "pass", "pass", "pass", "pass"],
      r.stdout,
    );
    assert.ok(!r.stdout.includes(garage.secretAccessKey));
  });

  test("doctor fails storage with the credentials fix when the secret is wrong", async () => {
    const dir = await home();
    for (const [k, v] of [
      ["backend", "s3"],
      ["user", "alice"],
      ["s3Endpoint", garage.s3Endpoint],
      ["region", garage.region],
      ["bucket", garage.bucket],
      ["credentialsStore", "file"],
    ])
      assert.equal((await runCli(["config", "set", k!, v!], { home: dir })).code, 0);
    await writeCredentialsFile(join(dir, "credentials.json"), {
      accessKeyId: garage.accessKeyId,
      secretAccessKey: "wrong",
    });
    const r = await runCli(["doctor", "--json"], { home: dir });
    assert.equal(r.code, 1);
    const storage = (JSON.parse(r.stdout) as DoctorReport).checks.find((c) => c.name === "storage reachable");
    assert.equal(storage?.status, "fail");
    assert.match(storage.detail, /refused these credentials/);
  });

  const keyringTools = Boolean(findExecutable("dbus-run-session") && findExecutable("gnome-keyring-daemon"));
  test(
    "init keeps the S3 secret in a fresh private gnome-keyring, and doctor reads it back from there",
    {
      skip: skipUnless(
        keyringTools,
        "dbus-run-session and gnome-keyring-daemon",
        "apt-get install dbus gnome-keyring",
      ),
    },
    async () => {
      const dir = await home();
      const args = initArgs().filter((a) => a !== "--credentials-file");
      // After doctor: the entry as secret-tool sees it, then reset, then secret-tool again (issue 16).
      const script =
        `printf '%s\\n%s\\n' "$AGL_SECRET" "the password" | "$0" "$1" ${args.map((a) => `'${a}'`).join(" ")}; echo "INIT:$?"; "$0" "$1" doctor --json; ` +
        `echo "SETTINGS:"; cat "$AEROGRAMME_LOCAL_HOME/settings.json"; echo "BEFORE:"; secret-tool search --all service aerogramme-local 2>&1; ` +
        `"$0" "$1" reset --yes; echo "RESET:$?"; echo "AFTER:"; secret-tool search --all service aerogramme-local 2>&1; echo "END"`;
      const out = await new Promise<string>((resolve, reject) => {
        // The secret reaches the shell through the environment of this test's own child only.
        const child = spawn(
          "sh",
          [join(REPO, "scripts/with-keyring.sh"), "sh", "-c", script, process.execPath, BIN],
          {
            env: { ...cliEnv(dir), AGL_SECRET: garage.secretAccessKey },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let text = "";
        child.stdout.on("data", (d) => (text += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
        child.on("error", reject);
        child.on("close", () => {
          clearTimeout(timer);
          resolve(text);
        });
      });
      assert.equal(/INIT:(\d+)/.exec(out)?.[1], "0", out);
      const report = JSON.parse(
        out.slice(out.indexOf("{", out.indexOf("INIT:")), out.indexOf("SETTINGS:")),
      ) as DoctorReport;
      const credentials = report.checks.find((c) => c.name === "credentials");
      assert.equal(credentials?.status, "pass", out);
      assert.match(credentials.detail, /in the OS keychain/);
      const settingsText = out.slice(out.indexOf("SETTINGS:") + "SETTINGS:".length, out.indexOf("BEFORE:"));
      const settings = JSON.parse(settingsText) as Record<string, string>;
      assert.match(settings.keychainAccount ?? "", /^alice@mail#[0-9a-f]{12}$/);
      assert.ok(!JSON.stringify(settings).includes(garage.secretAccessKey));
      // reset removes the keychain entry (and the home), as secret-tool sees the keyring.
      const before = out.slice(out.indexOf("BEFORE:"), out.indexOf("RESET:"));
      assert.ok(before.includes(settings.keychainAccount!), before);
      assert.equal(/RESET:(\d+)/.exec(out)?.[1], "0", out);
      const afterReset = out.slice(out.indexOf("AFTER:") + "AFTER:".length, out.indexOf("END"));
      assert.equal(afterReset.trim(), "", `the keyring still holds: ${afterReset}`);
      assert.equal(existsSync(dir), false);
    },
  );
});
