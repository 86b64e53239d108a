/**
 * `doctor [--json]`: one verdict per piece, each with what to do about it. Exit 0 when nothing
 * failed, 1 otherwise (warnings do not fail).
 */
import { randomBytes } from "node:crypto";
import { constants, existsSync } from "node:fs";
import { access, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { loadStorageCredentials } from "../../config/credentials.ts";
import { homePaths } from "../../config/homePaths.ts";
import { checkCredentialsFileMode } from "../../config/credentialsFile.ts";
import { probeKeychain } from "../../config/keychain.ts";
import type { Settings } from "../../config/settingsSchema.ts";
import type { BackendConfig, StorageCredentials } from "../../storage/backendConfig.ts";
import { callControl } from "../control/controlClient.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import { listRollbackAlarms } from "../../mail/rollbackAlarms.ts";
import { describeError, EXIT } from "../exitCodes.ts";
import { backendOf, openHomeStore } from "../../daemon/homeStore.ts";
import { openHome, type Home } from "../home.ts";
import { checkReachable } from "../setup/endpointCheck.ts";
import { checkK2v } from "../setup/k2vProbe.ts";
import { checkBucket, checkWritable } from "../setup/s3Probe.ts";
import { describeCertificate } from "../setup/tlsCertificate.ts";
import { hostPort } from "../listenAddress.ts";
import { permissionChecks } from "../permissionsCheck.ts";
import type { Check } from "../check.ts";

export type { Check, Verdict } from "../check.ts";

/** SigV4 requests are refused past 15 minutes of skew; warn well before. */
const SKEW_WARN_MS = 30_000;
const SKEW_FAIL_MS = 5 * 60_000;

export async function run(flags: { json?: boolean }): Promise<number> {
  const checks = await diagnose();
  const ok = !checks.some((c) => c.status === "fail");
  if (flags.json) process.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  else {
    for (const c of checks) {
      process.stdout.write(`[${c.status.toUpperCase()}] ${c.name}: ${c.detail}\n`);
      if (c.fix && c.status !== "pass") process.stdout.write(`       fix: ${c.fix}\n`);
    }
    process.stdout.write(ok ? "All good.\n" : "Some checks failed: see the fixes above.\n");
  }
  return ok ? EXIT.ok : EXIT.error;
}

export async function diagnose(): Promise<Check[]> {
  const checks: Check[] = [];
  let home: Home | undefined;
  const paths = homePaths();
  // Opening the settings makes their folder: a home that does not exist must stay so.
  if (!existsSync(paths.configDir)) {
    checks.push({
      name: "settings",
      status: "fail",
      detail: `nothing set up here: ${paths.configDir} does not exist`,
      fix: "run `aerogramme-local init` (or `aerogramme-local start`, which walks you through it)",
    });
    return checks;
  }
  try {
    home = await openHome();
  } catch (err) {
    checks.push({
      name: "settings",
      status: "fail",
      detail: describeError(err).message,
      fix: "fix or remove the settings file",
    });
  }
  const setUp = home?.settings.isSetUp() ?? false;
  const settings = home?.settings.all();
  if (home && settings) {
    checks.push(
      setUp
        ? {
            name: "settings",
            status: "pass",
            detail: `${home.settings.path} (backend ${settings.backend}, user ${settings.user})`,
          }
        : {
            name: "settings",
            status: "fail",
            detail: `nothing set up in ${home.paths.configDir}`,
            fix: "run `aerogramme-local init`",
          },
    );
  }
  const backend = home && settings && setUp ? backendOf(home.paths, settings) : undefined;
  const needsKeychain =
    backend !== undefined && backend.backend !== "embedded" && settings?.credentialsStore !== "file";

  const probe = await probeKeychain();
  if (probe.ok)
    checks.push({ name: "keychain", status: "pass", detail: "the OS keychain stores and returns secrets" });
  else
    checks.push({
      name: "keychain",
      status: needsKeychain ? "fail" : "warn",
      detail: `not available: ${probe.reason}${needsKeychain ? "" : " (needed only by the garage and s3 backends)"}`,
      fix: probe.fix,
    });

  const running =
    home &&
    // A server that does not answer is reported as not running; the checks below say why if it matters.
    ((await callControl(home.paths, { op: "status" }, 5_000).catch(() => null)) as ServerStatus | null);

  if (home && settings && backend) {
    if (backend.backend === "embedded")
      checks.push(...(await embeddedChecks(home, settings, backend.dataDir, running ?? null)));
    else checks.push(...(await remoteChecks(home, settings, backend)));
  }
  if (home && settings) checks.push(...(await permissionChecks(home, home.settings.stored())));
  if (settings) checks.push(...(await portChecks(settings, running ?? null)));
  if (home && setUp) checks.push(await rollbackCheck(home.paths.marksDir));
  return checks;
}

/** Storage this computer refused because it went back behind what it saw (src/mail/localMarks.ts). */
export async function rollbackCheck(marksDir: string): Promise<Check> {
  const name = "storage rollback";
  let alarms;
  try {
    alarms = await listRollbackAlarms(marksDir);
  } catch (err) {
    return { name, status: "warn", detail: `cannot read ${marksDir}: ${describeError(err).message}` };
  }
  if (alarms.length === 0)
    return { name, status: "pass", detail: "storage never went back behind what this computer saw" };
  const [first] = alarms;
  return {
    name,
    status: "fail",
    detail: `${alarms.length} refused (first at ${first!.at}): ${first!.message}`,
    fix: `the storage host served an older state than this computer saw (a dropped op, a hidden checkpoint, an older row or a restored copy of the bucket); nothing was written over it. Have the host put the newer data back; if you restored an old copy on purpose, delete ${marksDir} to accept it`,
  };
}

async function embeddedChecks(
  home: Home,
  settings: Settings,
  dataDir: string,
  running: ServerStatus | null,
): Promise<Check[]> {
  const checks: Check[] = [];
  try {
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    return [
      {
        name: "storage reachable",
        status: "fail",
        detail: `the data folder ${dataDir} cannot be used (${(err as NodeJS.ErrnoException).code})`,
        fix: "check that it exists and belongs to you, or `aerogramme-local config set dataDir DIR`",
      },
    ];
  }
  if (running) {
    checks.push({
      name: "storage reachable",
      status: running.storage.reachable ? "pass" : "fail",
      detail: `held by the running server (pid ${running.pid}): ${running.storage.detail}`,
    });
  } else {
    checks.push(await accountCheck(home, settings));
  }
  // A random name: nothing derived from the process goes into the data folder (issue 12).
  const probe = join(dataDir, `.doctor-${randomBytes(8).toString("hex")}`);
  try {
    await writeFile(probe, "probe");
    await rm(probe, { force: true });
    checks.push({
      name: "bucket writable",
      status: "pass",
      detail: `the data folder ${dataDir} takes writes`,
    });
  } catch (err) {
    checks.push({
      name: "bucket writable",
      status: "fail",
      detail: `cannot write in ${dataDir} (${(err as NodeJS.ErrnoException).code})`,
      fix: "free disk space or fix the folder's permissions",
    });
  }
  checks.push({ name: "K2V present", status: "skip", detail: "the embedded backend keeps rows itself" });
  checks.push({ name: "clock skew", status: "skip", detail: "no storage host to compare with" });
  return checks;
}

/** Opens the store and looks for the key root. */
async function accountCheck(home: Home, settings: Settings): Promise<Check> {
  try {
    const store = await openHomeStore(home.paths, settings);
    try {
      const { accountExists } = await import("../../mail/account.ts");
      const present = await accountExists(store);
      return present
        ? { name: "storage reachable", status: "pass", detail: "storage opens and holds the account" }
        : {
            name: "storage reachable",
            status: "fail",
            detail: "storage opens but holds no account",
            fix: "run `aerogramme-local init`",
          };
    } finally {
      await store.close();
    }
  } catch (err) {
    const { message } = describeError(err);
    return {
      name: "storage reachable",
      status: "fail",
      detail: message,
      fix: "see the message; `aerogramme-local status` shows the settings",
    };
  }
}

async function remoteChecks(
  home: Home,
  settings: Settings,
  backend: Extract<BackendConfig, { s3Endpoint: string }>,
): Promise<Check[]> {
  const checks: Check[] = [];
  let credentials: StorageCredentials | undefined;
  try {
    if (settings.credentialsStore === "file") await checkCredentialsFileMode(home.paths.credentialsFile);
    credentials = await loadStorageCredentials(settings, home.paths);
    checks.push({
      name: "credentials",
      status: "pass",
      detail:
        settings.credentialsStore === "file"
          ? `in ${home.paths.credentialsFile} (mode 0600)`
          : `in the OS keychain (entry ${settings.keychainAccount})`,
    });
  } catch (err) {
    checks.push({
      name: "credentials",
      status: "fail",
      detail: describeError(err).message,
      fix: "run `aerogramme-local init` again in a fresh home, or fix the keychain as above",
    });
  }

  const reach = await checkReachable(backend.s3Endpoint, "the S3 API");
  if (!reach.ok) {
    checks.push({
      name: "storage reachable",
      status: "fail",
      detail: reach.message,
      fix: "start the storage host or fix `s3Endpoint`",
    });
  } else if (credentials) {
    const bucket = await checkBucket(backend, credentials);
    checks.push(
      bucket.ok
        ? {
            name: "storage reachable",
            status: "pass",
            detail: `${backend.s3Endpoint} accepts the credentials; bucket ${backend.bucket} exists`,
          }
        : {
            name: "storage reachable",
            status: "fail",
            detail: bucket.message,
            fix: "fix the credentials or the bucket (see the message)",
          },
    );
    if (bucket.ok) {
      const writable = await checkWritable(backend, credentials);
      checks.push(
        writable.ok
          ? {
              name: "bucket writable",
              status: "pass",
              detail: `wrote and deleted an object in ${backend.bucket}`,
            }
          : {
              name: "bucket writable",
              status: "fail",
              detail: writable.message,
              fix: "give the key write access to the bucket",
            },
      );
    } else checks.push({ name: "bucket writable", status: "skip", detail: "the bucket cannot be reached" });
  } else {
    checks.push({
      name: "storage reachable",
      status: "warn",
      detail: `${backend.s3Endpoint} answers, but without credentials the bucket cannot be checked`,
    });
  }

  if (backend.backend === "garage") {
    if (credentials) {
      const k2v = await checkK2v(backend, credentials);
      checks.push(
        k2v.ok
          ? {
              name: "K2V present",
              status: "pass",
              detail: `K2V at ${backend.k2vEndpoint} answers for bucket ${backend.bucket}`,
            }
          : {
              name: "K2V present",
              status: "fail",
              detail: k2v.message,
              fix: "enable `[k2v_api]` in garage.toml and fix `k2vEndpoint`, or use the s3 backend",
            },
      );
    } else checks.push({ name: "K2V present", status: "skip", detail: "no credentials to sign with" });
  } else
    checks.push({ name: "K2V present", status: "skip", detail: "the s3 backend keeps rows in S3 objects" });

  if (reach.ok && reach.skewMs !== undefined) {
    const skew = Math.abs(reach.skewMs);
    const text = `this computer's clock is ${(reach.skewMs / 1000).toFixed(1)} s ${reach.skewMs > 0 ? "behind" : "ahead of"} the storage host`;
    checks.push({
      name: "clock skew",
      status: skew >= SKEW_FAIL_MS ? "fail" : skew >= SKEW_WARN_MS ? "warn" : "pass",
      detail: text,
      ...(skew >= SKEW_WARN_MS
        ? {
            fix: "turn on time synchronisation (NTP, e.g. `timedatectl set-ntp true`) here and on the storage host",
          }
        : {}),
    });
  } else checks.push({ name: "clock skew", status: "skip", detail: "the storage host sent no Date header" });
  return checks;
}

async function portChecks(settings: Settings, running: ServerStatus | null): Promise<Check[]> {
  const checks = [
    await portCheck(
      "IMAP port",
      settings.imapHost,
      settings.imapPort,
      running?.imap.port === settings.imapPort ? running : null,
    ),
  ];
  if (settings.lmtpPort)
    checks.push(
      await portCheck(
        "LMTP port",
        "127.0.0.1",
        settings.lmtpPort,
        running?.lmtp?.port === settings.lmtpPort ? running : null,
      ),
    );
  if (settings.tlsCert && settings.tlsKey)
    checks.push(await certificateCheck(settings.tlsCert, settings.tlsKey));
  return checks;
}

async function portCheck(
  name: string,
  host: string,
  port: number,
  ours: ServerStatus | null,
): Promise<Check> {
  const where = hostPort(host, port);
  if (ours)
    return {
      name,
      status: "pass",
      detail: `${where} is served by this home's running server (pid ${ours.pid})`,
    };
  const free = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
  if (!free) return { name, status: "pass", detail: `${where} is free` };
  if (free.code === "EADDRINUSE")
    return {
      name,
      status: "fail",
      detail: `${where} is taken by another program`,
      fix: `stop that program (\`ss -ltnp 'sport = :${port}'\` names it) or choose another port: \`aerogramme-local config set imapPort N\``,
    };
  return {
    name,
    status: "fail",
    detail: `cannot listen on ${where} (${free.code})`,
    fix: "check the address with `aerogramme-local config get imapHost`; ports below 1024 need privileges",
  };
}

async function certificateCheck(certFile: string, keyFile: string): Promise<Check> {
  try {
    const cert = describeCertificate(await readFile(certFile));
    await access(keyFile, constants.R_OK);
    const days = Math.floor((cert.notAfter.getTime() - Date.now()) / 86_400_000);
    if (days < 0)
      return {
        name: "TLS certificate",
        status: "fail",
        detail: `${certFile} expired on ${cert.notAfter.toISOString()}`,
        fix: "make a new one: remove tlsCert/tlsKey and run init --tls in a new home, or provide your own",
      };
    return {
      name: "TLS certificate",
      status: days < 30 ? "warn" : "pass",
      detail: `${certFile}, SHA-256 ${cert.sha256Fingerprint}, valid for ${days} more days`,
    };
  } catch (err) {
    return {
      name: "TLS certificate",
      status: "fail",
      detail: `cannot read ${certFile} or ${keyFile}: ${describeError(err).message}`,
      fix: "fix the paths with `aerogramme-local config set tlsCert FILE` / `tlsKey FILE`",
    };
  }
}
