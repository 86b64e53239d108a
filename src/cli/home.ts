/**
 * What every command starts from: this home's paths and its settings, and the store they name.
 */
import { loadStorageCredentials } from "../config/credentials.ts";
import { homePaths, type HomePaths } from "../config/homePaths.ts";
import { backendConfigOf, SettingsFile } from "../config/settings.ts";
import type { Settings } from "../config/settingsSchema.ts";
import type { BackendConfig } from "../storage/backendConfig.ts";
import type { Store } from "../storage/types.ts";
import { CliError, EXIT } from "./exitCodes.ts";
import { createLogger } from "../log.ts";
import { CACHEABLE } from "../mail/messageLayout.ts";
import { openStore } from "../storage/openStore.ts";

export interface Home {
  paths: HomePaths;
  settings: SettingsFile;
}

export async function openHome(): Promise<Home> {
  const paths = homePaths();
  return { paths, settings: await SettingsFile.open(paths) };
}

/** The settings of a home where `init` has run; exit 6 otherwise. */
export function requireSetUp(home: Home): Settings {
  if (!home.settings.isSetUp())
    throw new CliError(
      `nothing is set up in ${home.paths.configDir} yet: run \`aerogramme-local init\` (or \`aerogramme-local start\`, which walks you through it)`,
      EXIT.notSetUp,
    );
  return home.settings.all();
}

export function backendOf(home: Home, settings: Settings): BackendConfig {
  return backendConfigOf(settings, home.paths.defaultDataDir);
}

/** Opens the configured store, with the secrets from the keychain (or the credentials file) when it needs them. */
export async function openConfiguredStore(home: Home, settings: Settings): Promise<Store> {
  const config = backendOf(home, settings);
  const credentials =
    config.backend === "embedded" ? undefined : await loadStorageCredentials(settings, home.paths);
  return openStore(config, credentials, {
    cache: {
      dir: home.paths.cacheDir,
      enabled: settings.cache !== "off",
      maxBytes: settings.cacheMaxBytes,
      ...CACHEABLE,
      log: createLogger(settings.logLevel),
    },
  });
}

/** "garage at http://..., bucket mail" */
export function describeBackend(config: BackendConfig): string {
  switch (config.backend) {
    case "embedded":
      return `embedded, folder ${config.dataDir}`;
    case "garage":
      return `garage, S3 ${config.s3Endpoint}, K2V ${config.k2vEndpoint}, bucket ${config.bucket}`;
    case "s3":
      return `s3, ${config.s3Endpoint}, bucket ${config.bucket}`;
  }
}
