/**
 * Storage secrets in the OS keychain through @napi-rs/keyring (the Secret Service on Linux, the
 * Keychain on macOS, the Credential Manager on Windows). On Linux the store is pinned to the Secret
 * Service: unpinned, the library silently falls back to the kernel keyring, which forgets on
 * reboot (TOOLING.md).
 *
 * One entry per home: service "aerogramme-local", account = the home's `keychainAccount` setting.
 * Errors never carry the secret.
 */
import { createRequire } from "node:module";
import type * as Keyring from "@napi-rs/keyring";
import { Unavailable } from "../errors.ts";

export const KEYCHAIN_SERVICE = "aerogramme-local";

/** A D-Bus call to a keyring that waits for an unlock prompt nobody sees would hang forever. */
const KEYCHAIN_TIMEOUT_MS = 10_000;

/** The OS keychain cannot be used; `fix` says what to do about it. */
export class KeychainUnavailable extends Unavailable {
  readonly fix: string;
  constructor(readonly reason: string) {
    const fix = keychainFix();
    super(`no usable OS keychain: ${reason}. ${fix}`);
    this.fix = fix;
  }
}

/** What the user can do, for this OS. */
export function keychainFix(): string {
  const fileOptIn =
    "Or opt in to a credentials file (mode 0600) with `aerogramme-local init --credentials-file`, or `aerogramme-local config set credentialsStore file` then `aerogramme-local init` again.";
  switch (process.platform) {
    case "linux":
      return (
        "On Linux a Secret Service must run in your session: install gnome-keyring (or KeePassXC with Secret Service on) and log in to a desktop session, " +
        "or on a machine without a desktop run the command inside `dbus-run-session` after `gnome-keyring-daemon --unlock` (DBUS_SESSION_BUS_ADDRESS must be set). " +
        fileOptIn
      );
    case "darwin":
      return `Unlock the login keychain (Keychain Access) and allow access when asked. ${fileOptIn}`;
    default:
      return `Check that the Windows Credential Manager is available to your user. ${fileOptIn}`;
  }
}

interface KeyringEntry {
  setPassword(password: string, signal?: AbortSignal): Promise<void>;
  getPassword(signal?: AbortSignal): Promise<string | null>;
  deleteCredential(signal?: AbortSignal): Promise<boolean>;
}

async function entry(account: string): Promise<KeyringEntry> {
  // CommonJS, so `require`: ~5 ms of CPU to load against ~11-25 through `import` (Node 20), at
  // every start of a command that reads storage credentials from the keychain.
  const { AsyncEntry } = createRequire(import.meta.url)("@napi-rs/keyring") as typeof Keyring;
  try {
    // The constructor already connects to D-Bus on Linux, and throws there when there is no bus.
    return new AsyncEntry(KEYCHAIN_SERVICE, account, { linux: { store: "secret-service" } });
  } catch (err) {
    throw new KeychainUnavailable(reasonOf(err));
  }
}

async function call<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(KEYCHAIN_TIMEOUT_MS);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KeychainUnavailable(
            `${what} got no answer within ${KEYCHAIN_TIMEOUT_MS / 1000} s (is the keyring locked?)`,
          ),
        ),
      KEYCHAIN_TIMEOUT_MS + 500,
    );
    timer.unref();
  });
  try {
    return await Promise.race([run(signal), timeout]);
  } catch (err) {
    if (err instanceof KeychainUnavailable) throw err;
    throw new KeychainUnavailable(`${what} failed: ${reasonOf(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The innermost message of a keyring error (the useful one, e.g. D-Bus's), on one line. */
function reasonOf(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (e as { cause?: unknown } | null)?.cause;
    if (!(cause instanceof Error)) break;
    e = cause;
  }
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s+/g, " ").trim();
}

export async function readKeychainSecret(account: string): Promise<string | null> {
  const e = await entry(account);
  return call("reading the keychain", (signal) => e.getPassword(signal));
}

export async function writeKeychainSecret(account: string, secret: string): Promise<void> {
  const e = await entry(account);
  await call("writing to the keychain", (signal) => e.setPassword(secret, signal));
}

export async function deleteKeychainSecret(account: string): Promise<boolean> {
  const e = await entry(account);
  return call("deleting from the keychain", (signal) => e.deleteCredential(signal));
}

export type KeychainProbe = { ok: true } | { ok: false; reason: string; fix: string };

/** Writes, reads back and deletes a throwaway entry: the only sure sign the keychain works. */
export async function probeKeychain(): Promise<KeychainProbe> {
  // Imported here, not at the top: exit codes import this module for its error class, and every
  // start of the binary (`deliver`'s, once per message) would build node:crypto's namespace.
  const { randomBytes } = await import("node:crypto");
  const account = `probe-${randomBytes(8).toString("hex")}`;
  const value = randomBytes(12).toString("hex");
  try {
    await writeKeychainSecret(account, value);
    try {
      const back = await readKeychainSecret(account);
      if (back !== value)
        return { ok: false, reason: "an entry written could not be read back", fix: keychainFix() };
    } finally {
      // The probe entry is the check's own; the answer above is what the check reports.
      await deleteKeychainSecret(account).catch(() => false);
    }
    return { ok: true };
  } catch (err) {
    if (err instanceof KeychainUnavailable) return { ok: false, reason: err.reason, fix: err.fix };
    return { ok: false, reason: reasonOf(err), fix: keychainFix() };
  }
}
