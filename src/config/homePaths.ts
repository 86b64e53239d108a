/**
 * Where one "home" keeps its files. AEROGRAMME_LOCAL_HOME=DIR puts everything under DIR (settings,
 * embedded data, control socket), so several homes on one machine never share a file. Without it the
 * OS's own folders are used (XDG on Linux, Library on macOS, AppData on Windows).
 */
import type * as Crypto from "node:crypto";
import { lstatSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type EnvPaths from "env-paths";

export const APP_NAME = "aerogramme-local";

export interface HomePaths {
  /** Holds the settings file, the run file, the control socket, TLS files, the credentials file. */
  configDir: string;
  settingsFile: string;
  /** Default folder of the embedded backend. */
  defaultDataDir: string;
  /**
   * The local encrypted cache of a garage or s3 backend (copies of sealed objects, one folder per
   * bucket). Deleting it is always safe.
   */
  cacheDir: string;
  /**
   * This computer's sealed marks of what storage held (src/mail/localMarks.ts), so that a host
   * that goes backwards is refused after a restart too; alarms of refusals for `doctor` beside them.
   */
  marksDir: string;
  /**
   * This computer's sealed snapshots of mailbox indexes (src/mail/indexSnapshots.ts), in the
   * cache folder: a faster first SELECT; deleting them is always safe.
   */
  indexSnapshotsDir: string;
  /**
   * This computer's sealed list views (src/mail/listView.ts: dates, sizes and header blocks of
   * messages, a thousand per file), in the cache folder: a faster message list; deleting them is
   * always safe.
   */
  listViewDir: string;
  /**
   * This computer's sealed search indexes, one folder per account (mail/search/): in the cache
   * folder, since deleting it only costs a rebuild.
   */
  searchIndexDir: string;
  /**
   * Unix socket (mode 0600) through which other commands reach a running `start`, always in a
   * private folder (0700, ours): the home when the path fits, else a runtime folder (see below).
   */
  controlSocket: string;
  /** How the control socket's folder is checked: the home or $XDG_RUNTIME_DIR may be links. */
  controlSocketFolder: { path: string; followLinks: boolean; fix?: string };
  /** JSON written by `start` while it runs: pid, addresses. */
  runFile: string;
  /** The opt-in fallback for storage secrets when no OS keychain works (mode 0600). */
  credentialsFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
}

/**
 * env-paths, loaded only where its answer is taken (macOS, Windows; the platform never changes in a
 * process). It is an ES module only, so not `require`d, and it imports node:process, whose ES
 * namespace reads every getter of `process` (the report module among them): ~7-8 ms of CPU at
 * every start of the binary on Linux otherwise, `deliver`'s, once per message, included.
 */
const envPaths: typeof EnvPaths | undefined =
  process.platform === "darwin" || process.platform === "win32"
    ? (await import("env-paths")).default
    : undefined;

/**
 * The OS's folders for this app, read from `env`: on Linux and the other Unix systems XDG's
 * variables and HOME, as env-paths reads them; macOS and Windows take env-paths's answer. env-paths
 * reads the environment the process had when it was first imported, so a `homePaths(env)` given
 * another one (a command run inside a test process, test/cli/inProcess.ts) got the first one's
 * folders, or not, depending on which module loaded env-paths first.
 */
function osFolders(env: NodeJS.ProcessEnv): { config: string; data: string; cache: string } {
  if (envPaths) return envPaths(APP_NAME, { suffix: "" });
  const home = env.HOME || homedir();
  return {
    config: join(env.XDG_CONFIG_HOME || join(home, ".config"), APP_NAME),
    data: join(env.XDG_DATA_HOME || join(home, ".local", "share"), APP_NAME),
    cache: join(env.XDG_CACHE_HOME || join(home, ".cache"), APP_NAME),
  };
}

/**
 * node:crypto by `require` when a deep home needs it: an ES import of it builds its whole namespace
 * (webcrypto included), ~4-5 ms of CPU at every start of the binary, and `deliver` beside a running
 * server, started once per message, otherwise seals and hashes nothing.
 */
function sha256Hex(text: string): string {
  const { createHash } = createRequire(import.meta.url)("node:crypto") as typeof Crypto;
  return createHash("sha256").update(text).digest("hex");
}

/** Linux limits a Unix socket path to 108 bytes (sun_path), macOS to 104. */
const MAX_SOCKET_PATH = 100;

export function homePaths(env: NodeJS.ProcessEnv = process.env): HomePaths {
  const home = env.AEROGRAMME_LOCAL_HOME;
  let configDir: string;
  let dataDir: string;
  let cacheDir: string;
  if (home) {
    configDir = resolve(home);
    dataDir = join(configDir, "data");
    cacheDir = join(configDir, "cache");
  } else {
    ({ config: configDir, data: dataDir, cache: cacheDir } = osFolders(env));
  }
  const inHome = join(configDir, "control.sock");
  const socketFolder =
    Buffer.byteLength(inHome) <= MAX_SOCKET_PATH
      ? { path: configDir, followLinks: true }
      : runtimeFolder(env);
  // A deep home folder would overflow sun_path: the socket is then named by a hash of the home.
  const controlSocket =
    socketFolder.path === configDir
      ? inHome
      : join(socketFolder.path, `${APP_NAME}-${sha256Hex(configDir).slice(0, 16)}.sock`);
  return {
    configDir,
    settingsFile: join(configDir, "settings.json"),
    defaultDataDir: dataDir,
    cacheDir,
    marksDir: join(configDir, "marks"),
    indexSnapshotsDir: join(cacheDir, "index"),
    listViewDir: join(cacheDir, "list-view"),
    searchIndexDir: join(cacheDir, "search-index"),
    controlSocket,
    controlSocketFolder: socketFolder,
    runFile: join(configDir, "server.json"),
    credentialsFile: join(configDir, "credentials.json"),
    tlsCertFile: join(configDir, "tls", "cert.pem"),
    tlsKeyFile: join(configDir, "tls", "key.pem"),
  };
}

/**
 * Where the control socket goes when the home's path is too long for it: $XDG_RUNTIME_DIR when it
 * is a private folder of ours (the login manager makes it 0700 for us), else a per-uid folder in
 * the temp folder, made 0700 and checked by whoever uses it (config/privateFolder.ts): never
 * directly in a folder other users can write, where one of them could make the socket first.
 */
function runtimeFolder(env: NodeJS.ProcessEnv): HomePaths["controlSocketFolder"] {
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg) && uid !== undefined) {
    try {
      const info = lstatSync(xdg);
      if (info.isDirectory() && info.uid === uid && (info.mode & 0o077) === 0)
        return { path: xdg, followLinks: true };
    } catch {
      // not there: use the temp folder
    }
  }
  return {
    // os.tmpdir() reads TMPDIR from process.env; `env` is what this home is computed from.
    path: join(env.TMPDIR ? resolve(env.TMPDIR) : tmpdir(), `${APP_NAME}-${uid ?? "user"}`),
    followLinks: false,
    fix: "Remove it (as root), or set XDG_RUNTIME_DIR to a private folder of yours (or use a shorter AEROGRAMME_LOCAL_HOME, which keeps the socket in the home).",
  };
}
