/**
 * Which backend holds the account, as written in the settings file (no secrets here: the S3
 * credentials come from the keychain).
 */
export type BackendConfig =
  | { backend: "embedded"; dataDir: string }
  | {
      backend: "garage";
      s3Endpoint: string;
      k2vEndpoint: string;
      region: string;
      bucket: string;
    }
  | { backend: "s3"; s3Endpoint: string; region: string; bucket: string };

export interface StorageCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}
