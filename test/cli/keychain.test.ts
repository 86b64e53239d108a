import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadStorageCredentials,
  newKeychainAccount,
  saveStorageCredentials,
} from "../../src/config/credentials.ts";
import {
  readCredentialsFile,
  UnsafeCredentialsFile,
  writeCredentialsFile,
} from "../../src/config/credentialsFile.ts";
import { homePaths } from "../../src/config/homePaths.ts";
import { DEFAULT_SETTINGS } from "../../src/config/settingsSchema.ts";
import {
  deleteKeychainSecret,
  probeKeychain,
  readKeychainSecret,
  writeKeychainSecret,
} from "../../src/config/keychain.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { BIN, cliEnv, REPO, runCli, tempHome, writeSettings } from "./cliHarness.ts";

interface DoctorReport {
  ok: boolean;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

/** Environment with no way to reach any D-Bus session bus. */
async function noBusEnv(): Promise<Record<string, string | undefined>> {
  const runtime = await mkdtemp(join(tmpdir(), "agl-nobus-"));
  return { DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined, XDG_RUNTIME_DIR: runtime };
}

describe("doctor without any D-Bus session", () => {
  let home: { dir: string; cleanup: () => Promise<void> };
  let env: Record<string, string | undefined>;
  before(async () => {
    home = await tempHome();
    env = await noBusEnv();
  });
  after(async () => {
    await home.cleanup();
    await rm(env.XDG_RUNTIME_DIR!, { recursive: true, force: true });
  });

  test("reports the keychain as unavailable, says why and how to fix it (a warning before set-up)", async () => {
    const r = await runCli(["doctor", "--json"], { home: home.dir, env });
    const report = JSON.parse(r.stdout) as DoctorReport;
    const keychain = report.checks.find((c) => c.name === "keychain");
    assert.equal(keychain?.status, "warn", JSON.stringify(keychain));
    assert.match(keychain.detail, /not available: .*DBUS_SESSION_BUS_ADDRESS|not available: .*D-?Bus/i);
    assert.match(keychain.fix ?? "", /dbus-run-session/);
    assert.match(keychain.fix ?? "", /--credentials-file/);
  });

  test("fails the keychain check (exit 1) when the garage backend needs it", async () => {
    await writeSettings(home.dir, {
      backend: "garage",
      user: "alice",
      s3Endpoint: "http://127.0.0.1:9",
      k2vEndpoint: "http://127.0.0.1:9",
      region: "garage",
      bucket: "mail",
    });
    const r = await runCli(["doctor", "--json"], { home: home.dir, env });
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.equal(report.ok, false);
    assert.equal(report.checks.find((c) => c.name === "keychain")?.status, "fail");
    const names = report.checks.map((c) => c.name);
    for (const piece of ["keychain", "storage reachable", "K2V present", "clock skew", "IMAP port"])
      assert.ok(names.includes(piece), `doctor has a verdict on ${piece}: ${names.join(", ")}`);
    for (const c of report.checks.filter((c) => c.status === "fail"))
      assert.ok(c.fix, `${c.name} says how to fix it`);
  });
});

const keyringTools = Boolean(findExecutable("dbus-run-session") && findExecutable("gnome-keyring-daemon"));

describe("doctor inside a private gnome-keyring session (fresh XDG dirs)", () => {
  test(
    "reports the keychain as working",
    {
      skip: skipUnless(
        keyringTools,
        "dbus-run-session and gnome-keyring-daemon",
        "apt-get install dbus gnome-keyring",
      ),
    },
    async () => {
      const home = await tempHome();
      try {
        const result = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
          const child = spawn(
            "sh",
            [join(REPO, "scripts/with-keyring.sh"), process.execPath, BIN, "doctor", "--json"],
            {
              env: cliEnv(home.dir),
              stdio: ["ignore", "pipe", "pipe"],
            },
          );
          let stdout = "";
          child.stdout.on("data", (d) => (stdout += d));
          const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
          child.on("error", reject);
          child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout });
          });
        });
        const report = JSON.parse(result.stdout) as DoctorReport;
        assert.equal(report.checks.find((c) => c.name === "keychain")?.status, "pass", result.stdout);
      } finally {
        await home.cleanup();
      }
    },
  );
});

/** The Secret Service of the session this test runs in (CI runs the suite inside scripts/with-keyring.sh). */
async function sessionKeychain(): Promise<boolean> {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) return false;
  return (await probeKeychain()).ok;
}

describe("the OS keychain, round trip against the real gnome-keyring", async () => {
  const present = await sessionKeychain();
  const skip = skipUnless(
    present,
    "a D-Bus session with an unlocked Secret Service",
    "run under scripts/with-keyring.sh",
  );

  test("a secret written under a home's entry reads back, and is gone after delete", { skip }, async () => {
    const account = `test-${randomBytes(6).toString("hex")}`;
    await writeKeychainSecret(account, "s3cr3t value");
    try {
      assert.equal(await readKeychainSecret(account), "s3cr3t value");
    } finally {
      assert.equal(await deleteKeychainSecret(account), true);
    }
    assert.equal(await readKeychainSecret(account), null);
  });

  test("two homes keep separate storage credentials, never colliding", { skip }, async () => {
    const a = await tempHome();
    const b = await tempHome();
    const settingsA = { ...DEFAULT_SETTINGS, keychainAccount: newKeychainAccount("alice", "mail") };
    const settingsB = { ...DEFAULT_SETTINGS, keychainAccount: newKeychainAccount("alice", "mail") };
    try {
      assert.notEqual(settingsA.keychainAccount, settingsB.keychainAccount);
      const pathsA = homePaths({ AEROGRAMME_LOCAL_HOME: a.dir });
      const pathsB = homePaths({ AEROGRAMME_LOCAL_HOME: b.dir });
      await saveStorageCredentials(settingsA, pathsA, { accessKeyId: "GKa", secretAccessKey: "secret-a" });
      await saveStorageCredentials(settingsB, pathsB, { accessKeyId: "GKb", secretAccessKey: "secret-b" });
      assert.deepEqual(await loadStorageCredentials(settingsA, pathsA), {
        accessKeyId: "GKa",
        secretAccessKey: "secret-a",
      });
      assert.deepEqual(await loadStorageCredentials(settingsB, pathsB), {
        accessKeyId: "GKb",
        secretAccessKey: "secret-b",
      });
    } finally {
      await deleteKeychainSecret(settingsA.keychainAccount).catch(() => false);
      await deleteKeychainSecret(settingsB.keychainAccount).catch(() => false);
      await a.cleanup();
      await b.cleanup();
    }
  });
});

describe("the opt-in credentials file", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "agl-credfile-"))));
  after(() => rm(dir, { recursive: true, force: true }));

  test("is written with mode 0600 and reads back", async () => {
    const path = join(dir, "credentials.json");
    await writeCredentialsFile(path, { accessKeyId: "GK1", secretAccessKey: "shh" });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readCredentialsFile(path), { accessKeyId: "GK1", secretAccessKey: "shh" });
  });

  test("is refused when group or others can read it, with the chmod that fixes it, and without the secret", async () => {
    const path = join(dir, "loose.json");
    await writeFile(path, JSON.stringify({ accessKeyId: "GK1", secretAccessKey: "shh" }));
    await chmod(path, 0o644);
    await assert.rejects(readCredentialsFile(path), (err: Error) => {
      assert.ok(err instanceof UnsafeCredentialsFile);
      assert.match(err.message, /chmod 600/);
      assert.ok(!err.message.includes("shh"));
      return true;
    });
  });

  test("doctor fails the credentials check of a home whose file is too open", async () => {
    const home = await tempHome();
    try {
      await writeSettings(home.dir, {
        backend: "s3",
        user: "alice",
        s3Endpoint: "http://127.0.0.1:9",
        region: "us-east-1",
        bucket: "mail",
        credentialsStore: "file",
      });
      const file = join(home.dir, "credentials.json");
      await writeFile(file, JSON.stringify({ accessKeyId: "GK1", secretAccessKey: "shh" }), { mode: 0o644 });
      await chmod(file, 0o644);
      const r = await runCli(["doctor", "--json"], { home: home.dir });
      const report = JSON.parse(r.stdout) as DoctorReport;
      const credentials = report.checks.find((c) => c.name === "credentials");
      assert.equal(credentials?.status, "fail");
      assert.match(credentials.detail, /chmod 600/);
      assert.ok(!r.stdout.includes("shh") && !r.stderr.includes("shh"));
    } finally {
      await home.cleanup();
    }
  });
});
