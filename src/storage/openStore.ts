/**
 * Opens the store a settings file names (DESIGN.md §1): embedded, garage or s3. Each backend is
 * imported when asked for, so an embedded set-up never loads the S3 SDK.
 */
import { Invalid } from "../errors.ts";
import type { BackendConfig, StorageCredentials } from "./backendConfig.ts";
import type { Store } from "./types.ts";

export async function openStore(config: BackendConfig, credentials?: StorageCredentials): Promise<Store> {
  switch (config.backend) {
    case "embedded": {
      const { openEmbeddedStore } = await import("./embedded/index.ts");
      return openEmbeddedStore(config.dataDir);
    }
    case "garage": {
      const { openGarageStore } = await import("./garage/index.ts");
      return openGarageStore(config, needCredentials(config.backend, credentials));
    }
    case "s3": {
      const { openS3Store } = await import("./s3/index.ts");
      return openS3Store(config, needCredentials(config.backend, credentials));
    }
    default:
      throw new Invalid(`unknown storage backend "${(config as { backend?: string }).backend}"`);
  }
}

function needCredentials(backend: string, credentials?: StorageCredentials): StorageCredentials {
  if (!credentials?.accessKeyId || !credentials.secretAccessKey)
    throw new Invalid(`the ${backend} backend needs an access key id and a secret access key`);
  return credentials;
}
