/**
 * The settings file's JSON schema: non-secret settings only. Storage secrets live in the OS keychain
 * (keychain.ts) or, by explicit opt-in, in the credentials file (credentialsFile.ts); the schema
 * has no place for them and rejects unknown keys, so they cannot slip in here.
 */
import { LOG_LEVELS, type LogLevel } from "../log.ts";

export { LOG_LEVELS, type LogLevel };
export const BACKENDS = ["embedded", "garage", "s3"] as const;
export type BackendName = (typeof BACKENDS)[number];
export const CREDENTIAL_STORES = ["keychain", "file"] as const;
export const CACHE_MODES = ["on", "off"] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
export const CACHE_FILL_MODES = ["all", "meta", "off"] as const;
export type CacheFillMode = (typeof CACHE_FILL_MODES)[number];
/** What a home is for: `account` (unset) opens the account; `delivery-only` only seals mail to it. */
export const HOME_ROLES = ["account", "delivery-only"] as const;
export type HomeRole = (typeof HOME_ROLES)[number];
export type CredentialStoreName = (typeof CREDENTIAL_STORES)[number];

export interface Settings {
  backend?: BackendName;
  dataDir?: string;
  s3Endpoint?: string;
  k2vEndpoint?: string;
  region?: string;
  bucket?: string;
  user?: string;
  imapHost: string;
  imapPort: number;
  /** 0: no LMTP listener; otherwise `start` accepts LMTP on 127.0.0.1 at this port. */
  lmtpPort: number;
  /** Open IMAP connections at most, in all and from one client address. */
  imapMaxConnections: number;
  imapMaxConnectionsPerAddress: number;
  tlsCert?: string;
  tlsKey?: string;
  logLevel: LogLevel;
  /** Where `start` also writes its log, rotated by size (src/daemon/logFile.ts); unset: standard error only. */
  logFile?: string;
  /** Names this home's entry in the keychain (service "aerogramme-local"); random per home. */
  keychainAccount?: string;
  credentialsStore: CredentialStoreName;
  /** The local encrypted cache of a garage or s3 backend (docs/architecture.md, "Local cache"). */
  cache: CacheMode;
  /** Bytes of cached message bodies kept at most. */
  cacheMaxBytes: number;
  /** What the background fill after login copies into the local cache. */
  cacheFill: CacheFillMode;
  /** The local encrypted search index (docs/architecture.md, "Search index"). */
  searchIndex: CacheMode;
  /**
   * Set by `init --delivery-only`: the home holds the storage credentials and the pinned public
   * key only, and serves `lmtp` and `deliver`; `start` refuses it.
   */
  role?: HomeRole;
}

export type SettingKey = keyof Settings;

export const DEFAULT_SETTINGS: Pick<
  Settings,
  | "imapHost"
  | "imapPort"
  | "lmtpPort"
  | "imapMaxConnections"
  | "imapMaxConnectionsPerAddress"
  | "logLevel"
  | "credentialsStore"
  | "cache"
  | "cacheMaxBytes"
  | "cacheFill"
  | "searchIndex"
> = {
  imapHost: "127.0.0.1",
  imapPort: 1143,
  lmtpPort: 0,
  // As the IMAP server's own defaults (server/imap/connectionLimits.ts).
  imapMaxConnections: 100,
  imapMaxConnectionsPerAddress: 20,
  logLevel: "info",
  credentialsStore: "keychain",
  cache: "on",
  cacheMaxBytes: 1024 ** 3,
  cacheFill: "all",
  searchIndex: "on",
};

const endpoint = {
  type: "string",
  pattern: "^https?://[^\\s/?#]+(/[^\\s?#]*)?$",
} as const;

/** A path that means the same whatever the current folder of the command that reads it. */
const absolutePath = { type: "string", minLength: 2, pattern: "^/" } as const;

/** The settings that name a file or folder (`config set` makes a relative one absolute). */
export const PATH_SETTINGS = ["dataDir", "tlsCert", "tlsKey", "logFile"] as const;

/** One JSON schema per key (conf's `schema` option: the root's `properties`). */
export const SETTINGS_SCHEMA = {
  backend: { type: "string", enum: [...BACKENDS], description: "where the mail is kept" },
  dataDir: { ...absolutePath, description: "an absolute path (the folder of the embedded backend)" },
  s3Endpoint: { ...endpoint, description: "an http:// or https:// URL (the S3 API endpoint)" },
  k2vEndpoint: { ...endpoint, description: "an http:// or https:// URL (Garage's K2V API endpoint)" },
  region: {
    type: "string",
    minLength: 1,
    maxLength: 64,
    pattern: "^[A-Za-z0-9._-]+$",
    description: "an S3 region name (letters, digits, . _ -)",
  },
  bucket: {
    type: "string",
    // S3 bucket naming rules: 3 to 63 lower-case letters, digits, dots and hyphens.
    pattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    description: "a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)",
  },
  user: {
    type: "string",
    minLength: 1,
    maxLength: 128,
    // An IMAP login name: no spaces, quotes, backslashes or control characters, so it needs no quoting.
    pattern: '^[^\\s"\\\\\\x00-\\x1f\\x7f]+$',
    description: "an IMAP login name (no spaces, quotes or control characters)",
  },
  imapHost: { type: "string", minLength: 1, description: "address the IMAP server binds" },
  imapPort: { type: "integer", minimum: 1, maximum: 65535, description: "IMAP port" },
  lmtpPort: {
    type: "integer",
    minimum: 0,
    maximum: 65535,
    description: "LMTP port on 127.0.0.1 for deliveries from the mail host, 0 = off",
  },
  imapMaxConnections: {
    type: "integer",
    minimum: 1,
    maximum: 100000,
    description: "open IMAP connections at most (more get BYE [LIMIT])",
  },
  imapMaxConnectionsPerAddress: {
    type: "integer",
    minimum: 1,
    maximum: 100000,
    description: "open IMAP connections from one client address at most",
  },
  tlsCert: { ...absolutePath, description: "an absolute path (a PEM certificate for STARTTLS)" },
  tlsKey: { ...absolutePath, description: "an absolute path (a PEM private key for STARTTLS)" },
  logFile: {
    ...absolutePath,
    description:
      "an absolute path (start also writes its log there, rotated by size; unset: standard error only)",
  },
  logLevel: { type: "string", enum: [...LOG_LEVELS], description: "least important log level shown" },
  keychainAccount: {
    type: "string",
    minLength: 1,
    maxLength: 200,
    description: "name of this home's keychain entry",
  },
  credentialsStore: {
    type: "string",
    enum: [...CREDENTIAL_STORES],
    description: "where storage secrets live: keychain, or file (explicit opt-in)",
  },
  cache: {
    type: "string",
    enum: [...CACHE_MODES],
    description: "keep a local encrypted cache of message meta and bodies (garage, s3): on or off",
  },
  cacheMaxBytes: {
    type: "integer",
    minimum: 0,
    description: "bytes of message bodies the local cache keeps at most (0: none)",
  },
  cacheFill: {
    type: "string",
    enum: [...CACHE_FILL_MODES],
    description:
      "after login, copy into the local cache: all (meta, then bodies newest first up to cacheMaxBytes), meta (meta only) or off",
  },
  searchIndex: {
    type: "string",
    enum: [...CACHE_MODES],
    description: "keep a local encrypted search index for fast SEARCH (any backend): on or off",
  },
  role: {
    type: "string",
    enum: [...HOME_ROLES],
    description:
      "delivery-only in a home made by `init --delivery-only` (it delivers mail with lmtp and deliver, and opens none); account otherwise",
  },
} as const;

export const SETTING_KEYS = Object.keys(SETTINGS_SCHEMA) as SettingKey[];

export function isSettingKey(key: string): key is SettingKey {
  return Object.prototype.hasOwnProperty.call(SETTINGS_SCHEMA, key);
}

/** Turns the text of `config set KEY VALUE` into the JSON type the schema expects. */
export function parseSettingValue(key: SettingKey, text: string): string | number {
  const schema = SETTINGS_SCHEMA[key] as { type: string };
  if (schema.type === "integer") {
    if (!/^-?\d+$/.test(text.trim())) return text; // let the schema say why it is wrong
    return Number(text.trim());
  }
  return text;
}
