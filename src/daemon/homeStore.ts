/**
 * The store a home's settings name, opened with the secrets from the keychain (or the credentials
 * file) when the backend needs them, behind the local cache for what mail says may be cached. The
 * daemon opens it for as long as it serves; commands open it the same way when no server runs.
 */
import { loadStorageCredentials } from "../config/credentials.ts";
import type { HomePaths } from "../config/homePaths.ts";
import { backendConfigOf } from "../config/settings.ts";
import type { Settings } from "../config/settingsSchema.ts";
import { createLogger, type Log } from "../log.ts";
import { CACHEABLE } from "../mail/messageLayout.ts";
import type { BackendConfig } from "../storage/backendConfig.ts";
import { openStore } from "../storage/openStore.ts";
import type { Store } from "../storage/types.ts";

export function backendOf(paths: HomePaths, settings: Settings): BackendConfig {
  return backendConfigOf(settings, paths.defaultDataDir);
}

export async function openHomeStore(
  paths: HomePaths,
  settings: Settings,
  log: Log = createLogger(settings.logLevel),
): Promise<Store> {
  const config = backendOf(paths, settings);
  const credentials =
    config.backend === "embedded" ? undefined : await loadStorageCredentials(settings, paths);
  return openStore(config, credentials, {
    cache: {
      dir: paths.cacheDir,
      enabled: settings.cache !== "off",
      maxBytes: settings.cacheMaxBytes,
      ...CACHEABLE,
      log,
    },
  });
}

/** "garage, S3 http://..., K2V http://..., bucket mail" */
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
