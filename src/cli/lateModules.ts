/**
 * The modules of other layers that `start`, `status` and `passwd` call, loaded when a command needs
 * them (start-up stays fast) and described here by the small part the command line uses. If one is
 * missing from this build, the command says so with exit code 10 instead of crashing.
 */
import type { BackendConfig, StorageCredentials } from "../storage/backendConfig.ts";
import type { OpenStoreOptions } from "../storage/openStore.ts";
import type { Store } from "../storage/types.ts";
import { CliError, EXIT } from "./exitCodes.ts";

export interface AccountHandle {
  summary(): Promise<{ mailboxes: { name: string; messages: number }[] }>;
  close(): Promise<void>;
}

export interface MailApi {
  accountExists(store: Store): Promise<boolean>;
  createAccount(store: Store, opts: { user: string; password: string }): Promise<AccountHandle>;
  openAccount(store: Store, password: string, options?: AccountOptions): Promise<AccountHandle>;
  addPassword(store: Store, current: string, added: string): Promise<void>;
  changePassword(store: Store, current: string, next: string): Promise<void>;
  removePassword(store: Store, password: string): Promise<void>;
}

export interface AccountDirectoryHandle {
  readonly user: string;
  login(user: string, password: string): Promise<AccountHandle>;
  forgetVerifier(): void;
  close(): Promise<void>;
}

export interface DirectoryApi {
  AccountDirectory: new (
    store: Store,
    user: string,
    baseDelayMs?: number,
    options?: AccountOptions,
  ) => AccountDirectoryHandle;
}

export type ServerLog = (level: "debug" | "info" | "warn" | "error", message: string) => void;

/** Where the account keeps this computer's marks of what storage held (homePaths().marksDir). */
export interface AccountOptions {
  marksDir?: string;
  log?: ServerLog;
}

export interface ImapServerHandle {
  port?: number;
  address?: { host: string; port: number };
  close(): Promise<void>;
}

export interface ImapServerApi {
  startImapServer(opts: {
    host: string;
    port: number;
    tls?: { key: string | Buffer; cert: string | Buffer };
    directory: AccountDirectoryHandle;
    accounts: AccountDirectoryHandle;
    log: ServerLog;
  }): Promise<ImapServerHandle>;
}

export interface LmtpServerApi {
  startLmtpServer(opts: {
    host: string;
    port: number;
    store: Store;
    log: ServerLog;
  }): Promise<ImapServerHandle>;
}

export interface OpenStoreApi {
  openStore(
    config: BackendConfig,
    credentials?: StorageCredentials,
    options?: OpenStoreOptions,
  ): Promise<Store>;
}

/** ".js" when this file runs compiled (dist/), ".ts" when it runs from the sources. */
const ownExtension = import.meta.url.endsWith(".js") ? ".js" : ".ts";

/**
 * Imports a module by a path the type checker does not follow, so this file compiles whether or
 * not the module exists yet. `relativePath` names the source file; compiled, its .js is loaded.
 */
async function late<T>(relativePath: string, what: string): Promise<T> {
  const url = new URL(relativePath.replace(/\.ts$/, ownExtension), import.meta.url).href;
  try {
    return (await import(url)) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (
      code === "ERR_MODULE_NOT_FOUND" &&
      String((err as Error).message).includes(relativePath.replace(/^(\.\.\/)+/, "").replace(/\.ts$/, ""))
    )
      throw new CliError(`${what} is not available in this build yet`, EXIT.notAvailable);
    throw err;
  }
}

export const loadMail = () => late<MailApi>("../mail/account.ts", "the mail layer (src/mail/account.ts)");
export const loadDirectory = () => late<DirectoryApi>("../mail/accountDirectory.ts", "the account directory");
export const loadImapServer = () => late<ImapServerApi>("../server/imap/server.ts", "the IMAP server");
export type IncomingApi = typeof import("../mail/incoming/index.ts");
export type ImportExportApi = typeof import("../mail/importExport/index.ts");
export const loadIncoming = () =>
  late<IncomingApi>("../mail/incoming/index.ts", "mail delivery (src/mail/incoming/)");
export const loadImportExport = () =>
  late<ImportExportApi>("../mail/importExport/index.ts", "import and export (src/mail/importExport/)");
export const loadLmtpServer = () =>
  late<LmtpServerApi>("../server/lmtp/server.ts", "the LMTP server (--lmtp-port)");

/** openStore from the storage layer; until it exists, the embedded backend is opened directly. */
export async function openStoreFor(
  config: BackendConfig,
  credentials?: StorageCredentials,
  options?: OpenStoreOptions,
): Promise<Store> {
  let api: OpenStoreApi | undefined;
  try {
    api = await late<OpenStoreApi>("../storage/openStore.ts", "openStore");
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
  }
  if (api) return api.openStore(config, credentials, options);
  if (config.backend === "embedded") {
    const { openEmbeddedStore } = await import("../storage/embedded/index.ts");
    return openEmbeddedStore(config.dataDir);
  }
  throw new CliError(`the ${config.backend} backend is not available in this build yet`, EXIT.notAvailable);
}
