/**
 * Where this home's storage secrets live: the OS keychain (the default), or the credentials file
 * when the user opted in (`credentialsStore: file`). The embedded backend needs none.
 */
import { randomBytes } from "node:crypto";
import { Invalid, NotFound } from "../errors.ts";
import type { StorageCredentials } from "../storage/backendConfig.ts";
import {
  parseCredentials,
  readCredentialsFile,
  serializeCredentials,
  writeCredentialsFile,
} from "./credentialsFile.ts";
import type { HomePaths } from "./homePaths.ts";
import { deleteKeychainSecret, readKeychainSecret, writeKeychainSecret } from "./keychain.ts";
import type { Settings } from "./settingsSchema.ts";

/** A fresh, unique keychain account name for a home: several homes on one machine never collide. */
export function newKeychainAccount(user: string, bucket: string): string {
  return `${user}@${bucket}#${randomBytes(6).toString("hex")}`;
}

export async function loadStorageCredentials(
  settings: Settings,
  paths: HomePaths,
): Promise<StorageCredentials> {
  if (settings.credentialsStore === "file") return readCredentialsFile(paths.credentialsFile);
  const account = settings.keychainAccount;
  if (!account)
    throw new Invalid(
      "the settings name no keychain entry (`keychainAccount`): run `aerogramme-local init` again",
    );
  const text = await readKeychainSecret(account);
  if (text === null)
    throw new NotFound(
      `the keychain holds no storage credentials for "${account}" (service aerogramme-local): run \`aerogramme-local init\` again to store them`,
    );
  const parsed = parseCredentials(text);
  if (!parsed)
    throw new Invalid(`the keychain entry "${account}" is damaged: run \`aerogramme-local init\` again`);
  return parsed;
}

export async function saveStorageCredentials(
  settings: Pick<Settings, "credentialsStore" | "keychainAccount">,
  paths: HomePaths,
  credentials: StorageCredentials,
): Promise<void> {
  if (settings.credentialsStore === "file") return writeCredentialsFile(paths.credentialsFile, credentials);
  if (!settings.keychainAccount) throw new Invalid("no keychain account name to store the credentials under");
  await writeKeychainSecret(settings.keychainAccount, serializeCredentials(credentials));
}

export async function forgetStorageCredentials(account: string): Promise<void> {
  await deleteKeychainSecret(account);
}
