/**
 * `reset [--yes] [--delete-remote-data [--password-stdin]]`: remove this home from this computer
 * (settings, pins, marks, TLS files, the keychain entry, the cache, the service unit and, for the
 * embedded backend, the data folder), after listing what goes and asking twice. A remote bucket is
 * touched only with --delete-remote-data: then the account (opened with its password) lists what
 * it holds there, and every object and row of it is deleted before the local files
 * (src/mail/accountRemoval.ts).
 */
import { existsSync } from "node:fs";
import { readdir, rm, rmdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { forgetStorageCredentials } from "../../config/credentials.ts";
import type { HomePaths } from "../../config/homePaths.ts";
import type { Settings } from "../../config/settingsSchema.ts";
import { KEYCHAIN_SERVICE } from "../../config/keychain.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import { canAsk, terminalAsker } from "../asker.ts";
import { callControl } from "../control/controlClient.ts";
import { CliError, EXIT, usageError } from "../exitCodes.ts";
import { openExistingHome } from "../home.ts";
import { openRemoteRemoval, type RemoteRemoval } from "../remoteRemoval.ts";
import { uninstall as uninstallService, serviceStatus } from "./service.ts";

interface Flags {
  yes?: boolean;
  deleteRemoteData?: boolean;
  passwordStdin?: boolean;
}

/** What the embedded store makes in its data folder (src/storage/embedded): nothing else is removed. */
const EMBEDDED_NAMES = [/^rows\.log/, /^blobs$/, /^lock$/, /^\.tmp-/];

interface Removal {
  what: string;
  /** A path, or a keychain entry's description. */
  where: string;
  remove: () => Promise<void>;
}

export async function run(flags: Flags): Promise<number> {
  const home = await openExistingHome();
  // A socket that does not answer (or is not ours) is no server of ours: reset may go on.
  const running = (await callControl(home.paths, { op: "status" }, 5_000).catch(
    () => null,
  )) as ServerStatus | null;
  if (running)
    throw new CliError(
      `a server runs for this home (pid ${running.pid}): stop it first${serviceStatus().installed ? " (`aerogramme-local service uninstall` stops the service too)" : ""}, then run reset again`,
      EXIT.alreadyRunning,
    );
  const settings = home.settings.all();
  const setUp = home.settings.isSetUp();
  const removals = localRemovals(home.paths, settings);

  const remoteBackend = setUp && (settings.backend ?? "embedded") !== "embedded";
  let remote: RemoteRemoval | null = null;
  if (flags.deleteRemoteData && !remoteBackend)
    process.stdout.write(
      "--delete-remote-data: this home has no remote data (its mail is in the embedded store, removed below).\n",
    );
  if (flags.deleteRemoteData && remoteBackend)
    remote = await openRemoteRemoval(home, settings, flags.passwordStdin);
  try {
    return await confirmAndRemove(flags, settings, removals, remote, remoteBackend);
  } finally {
    await remote?.close();
  }
}

async function confirmAndRemove(
  flags: Flags,
  settings: Settings,
  removals: Removal[],
  remote: RemoteRemoval | null,
  remoteBackend: boolean,
): Promise<number> {
  if (remote) {
    process.stdout.write(`This deletes, from the bucket "${settings.bucket}":\n`);
    for (const line of remote.summary()) process.stdout.write(`  - ${line}\n`);
  }
  process.stdout.write(`${remote ? "Then it removes" : "This removes"}, from this computer:\n`);
  for (const r of removals) process.stdout.write(`  - ${r.what}: ${r.where}\n`);
  if (remoteBackend && !remote)
    process.stdout.write(
      `The mail in the bucket "${settings.bucket}" stays there: another computer, or this one after a new \`init\`, can still open it with the password.\n`,
    );

  if (!flags.yes) {
    if (!canAsk(false))
      throw usageError("reset asks before removing anything: run it on a terminal, or add --yes");
    const asker = await terminalAsker();
    if (!(await asker.confirm("Remove all of the above?", false))) return cancelled();
    const name = settings.user ?? "reset";
    if ((await asker.text(`To be sure, type the account name (${name}):`)) !== name) return cancelled();
  }

  if (remote) {
    await remote.remove();
    process.stdout.write(`Deleted the account's data from the bucket "${settings.bucket}".\n`);
  }
  for (const r of removals) await r.remove();
  process.stdout.write("Done: nothing of this home is left on this computer.\n");
  return EXIT.ok;
}

function cancelled(): number {
  process.stdout.write("Nothing was removed.\n");
  return EXIT.ok;
}

function localRemovals(paths: HomePaths, settings: Settings): Removal[] {
  const out: Removal[] = [];
  // First: the service would start the server again on a home that is going away.
  const service = serviceStatus();
  if (service.installed)
    out.push({
      what: "the service that starts it at login",
      where: service.file,
      remove: async () => void (await uninstallService()),
    });
  if (settings.credentialsStore === "keychain" && settings.keychainAccount) {
    const account = settings.keychainAccount;
    out.push({
      what: "the storage secrets in the OS keychain",
      where: `service ${KEYCHAIN_SERVICE}, entry ${account}`,
      remove: () => forgetStorageCredentials(account),
    });
  }
  if ((settings.backend ?? "embedded") === "embedded") {
    const dataDir = settings.dataDir ?? paths.defaultDataDir;
    if (existsSync(dataDir) && !inside(dataDir, paths.configDir))
      out.push({
        what: "the encrypted mail (embedded store)",
        where: dataDir,
        remove: () => removeEmbeddedData(dataDir),
      });
  }
  if (existsSync(paths.cacheDir) && !inside(paths.cacheDir, paths.configDir))
    out.push({
      what: "the local encrypted cache",
      where: paths.cacheDir,
      remove: () => rm(paths.cacheDir, { recursive: true, force: true }),
    });
  const socketFolder = paths.controlSocketFolder.path;
  if (socketFolder !== paths.configDir && existsSync(paths.controlSocket))
    out.push({
      what: "the control socket",
      where: paths.controlSocket,
      remove: () => rm(paths.controlSocket, { force: true }),
    });
  out.push({
    what:
      "the settings, the pinned keys, this computer's marks, TLS files and everything else in the home folder" +
      (inside(settings.dataDir ?? paths.defaultDataDir, paths.configDir)
        ? ", the encrypted mail included"
        : ""),
    where: paths.configDir,
    remove: () => rm(paths.configDir, { recursive: true, force: true }),
  });
  return out;
}

function inside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}

/** Only what the store made: a dataDir that also holds the user's own files keeps them. */
async function removeEmbeddedData(dataDir: string): Promise<void> {
  for (const name of await readdir(dataDir))
    if (EMBEDDED_NAMES.some((re) => re.test(name)))
      await rm(join(dataDir, name), { recursive: true, force: true });
  const left = await readdir(dataDir);
  if (left.length === 0) await rmdir(dataDir);
  else
    process.stderr.write(
      `note: ${dataDir} holds other files (${left.slice(0, 3).join(", ")}${left.length > 3 ? ", ..." : ""}), not made by aerogramme-local: they were left there\n`,
    );
}
