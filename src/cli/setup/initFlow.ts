/**
 * The set-up of a home, shared by `init` and by `start` on a fresh machine. Every value comes from a
 * flag, or else from a question on the terminal (checked as it is typed, with another try), or else
 * from its default; without a terminal a missing or wrong value ends the command with its exit code.
 *
 * Order: storage and credentials are checked first, then the account is created (or, when the
 * storage already holds one, as on a second computer joining a bucket, opened with its password),
 * and only then are the secrets and settings saved, so a failed set-up leaves no half-written home.
 */
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { newKeychainAccount, saveStorageCredentials } from "../../config/credentials.ts";
import { DeliveryKeyFiles } from "../../config/deliveryKeyFiles.ts";
import { probeKeychain, KeychainUnavailable } from "../../config/keychain.ts";
import { SETTINGS_SCHEMA, type BackendName, type Settings } from "../../config/settingsSchema.ts";
import { AuthFailed } from "../../errors.ts";
import type { BackendConfig, StorageCredentials } from "../../storage/backendConfig.ts";
import type { Store } from "../../storage/types.ts";
import { adoptAccountHere, keepInboxHint } from "../adoptAccount.ts";
import type { Asker } from "../asker.ts";
import { CliError, EXIT, usageError, type ExitCode } from "../exitCodes.ts";
import type { Home } from "../home.ts";
import { openStore } from "../../storage/openStore.ts";
import { readStdinLines } from "../stdinLines.ts";
import { askNewPassword } from "./askNewPassword.ts";
import { requireStrongEnough } from "./passwordStrength.ts";
import { checkReachable, normalizeEndpoint, parseEndpoint } from "./endpointCheck.ts";
import { checkK2v } from "./k2vProbe.ts";
import { checkBucket, checkWritable } from "./s3Probe.ts";
import { makeSelfSignedCertificate, type MadeCertificate } from "./tlsCertificate.ts";

export interface InitFlags {
  backend?: BackendName;
  user?: string;
  passwordStdin?: boolean;
  yes?: boolean;
  dataDir?: string;
  s3Endpoint?: string;
  k2vEndpoint?: string;
  region?: string;
  bucket?: string;
  accessKeyId?: string;
  secretAccessKeyStdin?: boolean;
  credentialsFile?: boolean;
  tls?: boolean;
  /** Accept a new password the estimator calls too easy to guess (passwordStrength.ts). */
  allowWeakPassword?: boolean;
  /** A mail host's home: storage credentials and the pinned public key only (deliveryOnly.ts). */
  deliveryOnly?: boolean;
  /** With deliveryOnly: the file `export-delivery-key` wrote on the user's computer. */
  deliveryKey?: string;
  /** With deliveryOnly: the fingerprint `status` shows on the user's computer. */
  fingerprint?: string;
}

export interface InitResult {
  settings: Partial<Settings>;
  joined: boolean;
  /** Set up by `init --delivery-only`: the fingerprint of the key it pinned. */
  deliveryOnly?: { fingerprint: string };
  certificate?: MadeCertificate;
}

interface Problem {
  message: string;
  exitCode: ExitCode;
}

/** At most this many wrong answers to one question before giving up (a stuck script must end). */
const MAX_TRIES = 5;

export async function runInitFlow(home: Home, flags: InitFlags, asker: Asker | null): Promise<InitResult> {
  const expected = flags.deliveryOnly ? await expectedDeliveryKey(flags, asker) : undefined;
  if (!flags.deliveryOnly && (flags.deliveryKey !== undefined || flags.fingerprint !== undefined))
    throw usageError("--delivery-key and --fingerprint go with --delivery-only");
  const stdin = await readStdinSecrets(flags);
  const backend: BackendName =
    flags.backend ??
    (asker
      ? await asker.choose(
          "Where should the mail be kept?",
          [
            { value: "embedded", name: "embedded: a folder on this computer (encrypted)" },
            { value: "garage", name: "garage: a Garage cluster (S3 + K2V), usable from several computers" },
            { value: "s3", name: "s3: any S3-compatible host (MinIO, AWS...)" },
          ],
          "embedded",
        )
      : "embedded");
  if (backend === "embedded" && (flags.secretAccessKeyStdin || flags.credentialsFile))
    throw usageError(
      "--secret-access-key-stdin and --credentials-file are for the garage and s3 backends only",
    );

  const settings: Partial<Settings> = { backend };
  let config: BackendConfig;
  let credentials: StorageCredentials | undefined;
  if (backend === "embedded") {
    const dataDir = await value(asker, flags.dataDir, {
      flag: "--data-dir",
      question: "Folder for the encrypted mail:",
      initial: home.paths.defaultDataDir,
      check: checkDataDir,
    });
    settings.dataDir = resolve(dataDir);
    config = { backend: "embedded", dataDir: settings.dataDir };
  } else {
    settings.credentialsStore = await chooseCredentialsStore(flags, asker);
    const remote = await askRemote(backend, flags, asker, stdin.secret);
    config = remote.config;
    credentials = remote.credentials;
    Object.assign(settings, remote.settings);
  }

  const tls = expected
    ? false
    : (flags.tls ??
      (asker
        ? await asker.confirm("Offer STARTTLS with a self-signed certificate for localhost?", false)
        : false));
  const user = await value(asker, flags.user, {
    flag: "--user",
    question: expected
      ? "The account's user name (the local part LMTP recipients must have):"
      : "IMAP user name (what Thunderbird will log in with):",
    initial: expected && "user" in expected ? expected.user : defaultUserName(),
    check: (v) => checkSchema("user", v),
  });
  settings.user = user;

  const store = await openStore(config, credentials);
  let joined: boolean;
  let deliveryOnly: InitResult["deliveryOnly"];
  try {
    if (expected) {
      deliveryOnly = await pinDeliveryKey(home, store, expected);
      settings.role = "delivery-only";
      // It reads keys/root and writes deliveries: nothing worth a local cache.
      settings.cache = "off";
      joined = true;
    } else joined = await setUpAccount(home, store, user, asker, stdin.password, flags.allowWeakPassword);
  } finally {
    await store.close();
  }

  if (credentials) {
    if (settings.credentialsStore === "keychain")
      settings.keychainAccount = newKeychainAccount(user, settings.bucket!);
    await saveStorageCredentials(
      {
        credentialsStore: settings.credentialsStore ?? "keychain",
        keychainAccount: settings.keychainAccount,
      },
      home.paths,
      credentials,
    );
  }
  let certificate: MadeCertificate | undefined;
  if (tls) {
    certificate = await makeSelfSignedCertificate(home.paths.tlsCertFile, home.paths.tlsKeyFile);
    settings.tlsCert = certificate.certFile;
    settings.tlsKey = certificate.keyFile;
  }
  await home.settings.set(settings);
  return {
    settings,
    joined,
    ...(certificate ? { certificate } : {}),
    ...(deliveryOnly ? { deliveryOnly } : {}),
  };
}

type ExpectedKey = { publicKey: Uint8Array; user: string } | { fingerprint: string };

/** `--delivery-key FILE` or `--fingerprint HEX` (asked for on a terminal), checked before storage. */
async function expectedDeliveryKey(flags: InitFlags, asker: Asker | null): Promise<ExpectedKey> {
  if (flags.passwordStdin || flags.tls || flags.allowWeakPassword)
    throw usageError(
      "a delivery-only home has no password and serves no IMAP: leave out --password-stdin, --tls and --allow-weak-password",
    );
  if (flags.deliveryKey !== undefined && flags.fingerprint !== undefined)
    throw usageError("give --delivery-key FILE or --fingerprint HEX, not both");
  const exported = await import("../../mail/incoming/deliveryKeyExport.ts");
  if (flags.deliveryKey !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.deliveryKey, "utf8");
    } catch (err) {
      throw usageError(`--delivery-key: cannot read ${flags.deliveryKey} (${(err as Error).message})`);
    }
    try {
      return exported.parseDeliveryKeyFile(text);
    } catch (err) {
      throw usageError(`--delivery-key ${flags.deliveryKey}: ${(err as Error).message}`);
    }
  }
  const fingerprint = await value(asker, flags.fingerprint, {
    flag: "--fingerprint",
    question:
      "The delivery key fingerprint that `aerogramme-local status` shows on your own computer (or give --delivery-key FILE):",
    check: (v) =>
      exported.normalizeFingerprint(v)
        ? true
        : { message: "not a fingerprint (32 hex digits, as `status` shows it)", exitCode: EXIT.usage },
  });
  return { fingerprint: exported.normalizeFingerprint(fingerprint)! };
}

/**
 * A delivery-only home: the public key in storage's key root is pinned once it matches what the
 * user brought from their own computer. No password is asked and the key root is not opened.
 */
async function pinDeliveryKey(
  home: Home,
  store: Store,
  expected: ExpectedKey,
): Promise<{ fingerprint: string }> {
  const exported = await import("../../mail/incoming/deliveryKeyExport.ts");
  const publicKey = await exported.expectedRootKey(store, expected);
  await new DeliveryKeyFiles(home.paths).writePublicKey(publicKey);
  return { fingerprint: exported.deliveryKeyFingerprint(publicKey) };
}

async function readStdinSecrets(flags: InitFlags): Promise<{ secret?: string; password?: string }> {
  const what: string[] = [];
  if (flags.secretAccessKeyStdin) what.push("the S3 secret key");
  if (flags.passwordStdin) what.push("the account password");
  if (what.length === 0) return {};
  const lines = await readStdinLines(what.length, what);
  return {
    ...(flags.secretAccessKeyStdin ? { secret: lines[0] } : {}),
    ...(flags.passwordStdin ? { password: lines[what.length - 1] } : {}),
  };
}

/**
 * The flag's value if it passes `check`; else (on a terminal) the answer to the question, asked
 * until it passes; else the default; else a usage error naming the flag.
 */
async function value(
  asker: Asker | null,
  given: string | undefined,
  q: {
    flag: string;
    question: string;
    initial?: string;
    check: (v: string) => Promise<true | Problem> | true | Problem;
  },
): Promise<string> {
  if (given !== undefined) {
    const verdict = await q.check(given.trim());
    if (verdict === true) return given.trim();
    if (!asker) throw new CliError(`${q.flag}: ${verdict.message}`, verdict.exitCode);
    asker.say(`${q.flag}: ${verdict.message}`);
  }
  if (!asker) {
    if (q.initial === undefined) throw usageError(`${q.flag} is needed (no terminal to ask on)`);
    const verdict = await q.check(q.initial);
    if (verdict !== true)
      throw new CliError(`${q.flag} (default ${q.initial}): ${verdict.message}`, verdict.exitCode);
    return q.initial;
  }
  return asker.text(q.question, {
    ...(q.initial !== undefined ? { initial: q.initial } : {}),
    check: async (v) => {
      const verdict = await q.check(v.trim());
      return verdict === true ? true : verdict.message;
    },
  });
}

function checkSchema(key: keyof typeof SETTINGS_SCHEMA, v: string): true | Problem {
  const schema = SETTINGS_SCHEMA[key] as {
    pattern?: string;
    minLength?: number;
    maxLength?: number;
    description?: string;
  };
  const ok =
    (schema.minLength === undefined || v.length >= schema.minLength) &&
    (schema.maxLength === undefined || v.length <= schema.maxLength) &&
    (schema.pattern === undefined || new RegExp(schema.pattern).test(v));
  return ok
    ? true
    : { message: `"${v}" is not ${schema.description ?? `a valid ${key}`}`, exitCode: EXIT.usage };
}

async function checkDataDir(v: string): Promise<true | Problem> {
  if (!v) return { message: "give a folder", exitCode: EXIT.usage };
  // The nearest folder that exists must be writable, so the data folder can be made inside it.
  let dir = resolve(v);
  for (let depth = 0; depth < 64; depth++) {
    try {
      await access(dir, constants.W_OK | constants.X_OK);
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== "ENOENT" && code !== "ENOTDIR")
        return {
          message: `cannot write in ${dir} (${code}): choose another folder or fix its permissions`,
          exitCode: EXIT.usage,
        };
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return { message: `cannot create ${v}`, exitCode: EXIT.usage };
}

function defaultUserName(): string | undefined {
  try {
    const name = userInfo().username;
    return checkSchema("user", name) === true ? name : undefined;
  } catch {
    return undefined;
  }
}

async function chooseCredentialsStore(flags: InitFlags, asker: Asker | null): Promise<"keychain" | "file"> {
  if (flags.credentialsFile) return "file";
  const probe = await probeKeychain();
  if (probe.ok) return "keychain";
  if (asker) {
    asker.say(`The OS keychain does not work here: ${probe.reason}\n${probe.fix}`);
    if (await asker.confirm("Keep the S3 secrets in a file readable only by you (mode 0600) instead?", false))
      return "file";
  }
  throw new KeychainUnavailable(probe.reason);
}

async function askEndpoint(
  asker: Asker | null,
  given: string | undefined,
  flag: string,
  question: string,
  what: string,
) {
  const answer = await value(asker, given, {
    flag,
    question,
    check: async (v) => {
      const url = parseEndpoint(v);
      if (typeof url === "string") return { message: url, exitCode: EXIT.usage };
      const reach = await checkReachable(normalizeEndpoint(url), what);
      return reach.ok ? true : { message: reach.message, exitCode: EXIT.storageUnavailable };
    },
  });
  return normalizeEndpoint(parseEndpoint(answer) as URL);
}

async function askRemote(
  backend: "garage" | "s3",
  flags: InitFlags,
  asker: Asker | null,
  stdinSecret: string | undefined,
): Promise<{ config: BackendConfig; credentials: StorageCredentials; settings: Partial<Settings> }> {
  const name = backend === "garage" ? "Garage" : "S3";
  let s3Endpoint = await askEndpoint(
    asker,
    flags.s3Endpoint,
    "--s3-endpoint",
    `${name} S3 API endpoint (e.g. http://127.0.0.1:3900):`,
    `the ${name} S3 API`,
  );
  let k2vEndpoint: string | undefined;
  if (backend === "garage")
    k2vEndpoint = await askEndpoint(
      asker,
      flags.k2vEndpoint,
      "--k2v-endpoint",
      "Garage K2V API endpoint (e.g. http://127.0.0.1:3904):",
      "the Garage K2V API",
    );
  const region = await value(asker, flags.region, {
    flag: "--region",
    question: "Region:",
    initial: backend === "garage" ? "garage" : "us-east-1",
    check: (v) => checkSchema("region", v),
  });
  let bucket = await value(asker, flags.bucket, {
    flag: "--bucket",
    question: "Bucket:",
    check: (v) => checkSchema("bucket", v),
  });
  let accessKeyId = await value(asker, flags.accessKeyId, {
    flag: "--access-key-id",
    question: "Access key id:",
    check: (v) => (v ? true : { message: "give the access key id", exitCode: EXIT.usage }),
  });
  let secretAccessKey = stdinSecret ?? (asker ? await asker.secret("Secret key (not shown):") : undefined);
  if (!secretAccessKey) throw usageError("--secret-access-key-stdin is needed (no terminal to ask on)");

  for (let attempt = 1; ; attempt++) {
    const target = { s3Endpoint, region, bucket };
    const creds = { accessKeyId, secretAccessKey };
    let verdict = await checkBucket(target, creds);
    if (verdict.ok) verdict = await checkWritable(target, creds);
    let k2vProblem: string | undefined;
    if (verdict.ok && k2vEndpoint) {
      const k2v = await checkK2v({ k2vEndpoint, region, bucket }, creds);
      if (!k2v.ok) k2vProblem = k2v.message;
    }
    if (verdict.ok && !k2vProblem) {
      const settings: Partial<Settings> = {
        s3Endpoint,
        region,
        bucket,
        ...(k2vEndpoint ? { k2vEndpoint } : {}),
      };
      const config: BackendConfig =
        backend === "garage"
          ? { backend, s3Endpoint, k2vEndpoint: k2vEndpoint!, region, bucket }
          : { backend, s3Endpoint, region, bucket };
      return { config, credentials: creds, settings };
    }
    const message = verdict.ok ? k2vProblem! : verdict.message;
    if (!asker || attempt >= MAX_TRIES) throw new CliError(message, EXIT.storageUnavailable);
    asker.say(message);
    const problem = verdict.ok ? "k2v" : verdict.problem;
    if (problem === "credentials") {
      accessKeyId = await asker.text("Access key id:", { initial: accessKeyId });
      secretAccessKey = await asker.secret("Secret key (not shown):");
    } else if (problem === "bucket") {
      bucket = await asker.text("Bucket:", {
        check: (v) => {
          const c = checkSchema("bucket", v);
          return c === true ? true : c.message;
        },
      });
    } else if (problem === "k2v") {
      k2vEndpoint = await askEndpoint(
        asker,
        undefined,
        "--k2v-endpoint",
        "Garage K2V API endpoint:",
        "the Garage K2V API",
      );
    } else {
      s3Endpoint = await askEndpoint(
        asker,
        undefined,
        "--s3-endpoint",
        `${name} S3 API endpoint:`,
        `the ${name} S3 API`,
      );
    }
  }
}

/** Creates the account, or opens the one already there (true: joined an existing account). */
async function setUpAccount(
  home: Home,
  store: Store,
  user: string,
  asker: Asker | null,
  stdinPassword: string | undefined,
  allowWeak: boolean | undefined,
): Promise<boolean> {
  // Loaded once the questions are answered: the first prompt shows without waiting for it.
  const mail = await import("../../mail/account.ts");
  if (await mail.accountExists(store)) {
    asker?.say(
      "This storage already holds an account (set up on another computer, or earlier): type its password to use it here.",
    );
    for (let attempt = 1; ; attempt++) {
      const password =
        stdinPassword ?? (asker ? await asker.secret("Account password (not shown):") : undefined);
      if (!password) throw usageError("--password-stdin is needed (no terminal to ask on)");
      try {
        const account = await mail.openAccount(store, password);
        try {
          // Opened (its public key checked against the secret key): pin it in this home.
          await adoptAccountHere(home, account, { settingUp: true });
          // INBOX's id, so that this computer's first LOGIN reads INBOX beside Argon2id.
          await keepInboxHint(home, account);
        } finally {
          await account.close();
        }
        return true;
      } catch (err) {
        if (!(err instanceof AuthFailed) || !asker || stdinPassword !== undefined || attempt >= MAX_TRIES)
          throw err;
        asker.say("That password does not open this account. Try again (Ctrl-C to stop).");
      }
    }
  }
  let password = stdinPassword;
  if (password !== undefined) await requireStrongEnough(password, { user, allowWeak });
  else {
    if (!asker) throw usageError("--password-stdin is needed (no terminal to ask on)");
    password = await askNewPassword(asker, { user, allowWeak }, "Choose the account password (not shown):");
  }
  const account = await mail.createAccount(store, { user, password });
  try {
    await adoptAccountHere(home, account, { settingUp: true });
  } finally {
    await account.close();
  }
  return false;
}
