/**
 * Where one "home" keeps its files. AEROGRAMME_LOCAL_HOME=DIR puts everything under DIR (settings,
 * embedded data, control socket), so several homes on one machine never share a file. Without it the
 * OS's own folders are used (XDG on Linux, Library on macOS, AppData on Windows).
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import envPaths from "env-paths";

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
  /** Unix socket (mode 0600) through which other commands reach a running `start`. */
  controlSocket: string;
  /** JSON written by `start` while it runs: pid, addresses. */
  runFile: string;
  /** The opt-in fallback for storage secrets when no OS keychain works (mode 0600). */
  credentialsFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
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
    const os = envPaths(APP_NAME, { suffix: "" });
    configDir = os.config;
    dataDir = os.data;
    cacheDir = os.cache;
  }
  let controlSocket = join(configDir, "control.sock");
  if (Buffer.byteLength(controlSocket) > MAX_SOCKET_PATH) {
    // A deep home folder would overflow sun_path: name the socket by a hash of the home instead.
    const id = createHash("sha256").update(configDir).digest("hex").slice(0, 16);
    controlSocket = join(tmpdir(), `${APP_NAME}-${id}.sock`);
  }
  return {
    configDir,
    settingsFile: join(configDir, "settings.json"),
    defaultDataDir: dataDir,
    cacheDir,
    marksDir: join(configDir, "marks"),
    controlSocket,
    runFile: join(configDir, "server.json"),
    credentialsFile: join(configDir, "credentials.json"),
    tlsCertFile: join(configDir, "tls", "cert.pem"),
    tlsKeyFile: join(configDir, "tls", "key.pem"),
  };
}
